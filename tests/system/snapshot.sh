#!/bin/bash
# Runs INSIDE the emulated host. Prints, one fact per line and sorted, everything
# vmlaunch may change on a host, so that "before" and "after" can be compared with diff.
# SYSFS/PROCFS/DEVFS/RUNFS point it at a fixture tree instead of the running system.
# scenarios/snapshot_sees_every_change.sh proves that a change of each kind shows.
set -u
sys=${SYSFS:-/sys} proc=${PROCFS:-/proc} dev=${DEVFS:-/dev} run=${RUNFS:-/run}
units=${SNAPSHOT_UNITS:-display-manager.service}

# Few forks: under TCG each one costs milliseconds, and scenarios snapshot often.
first_line() {
  local line=
  if [ -r "$1" ]; then IFS= read -r line <"$1"; echo "$line"; else echo "(none)"; fi
}
link_name() {
  local target
  if [ -L "$1" ]; then target=$(readlink "$1"); echo "${target##*/}"; else echo "(none)"; fi
}

{
  # Each PCI function: driver, driver_override and IOMMU group.
  for d in "$sys"/bus/pci/devices/*; do
    [ -e "$d" ] || continue
    echo "pci $(basename "$d") driver=$(link_name "$d/driver")" \
      "override=$(first_line "$d/driver_override")" "iommu_group=$(link_name "$d/iommu_group")"
  done
  # Loaded modules with their use count and holders (holders sorted: the kernel lists
  # them in load order, which differs after an unload/reload cycle).
  [ -r "$proc/modules" ] && LC_ALL=C awk '{
    n = split($4, h, ","); m = 0
    for (i = 1; i <= n; i++) if (h[i] != "" && h[i] != "-") s[++m] = h[i]
    for (i = 2; i <= m; i++) { v = s[i]; for (j = i - 1; j >= 1 && s[j] > v; j--) s[j + 1] = s[j]; s[j + 1] = v }
    list = "-"; for (i = 1; i <= m; i++) list = (i == 1 ? "" : list ",") s[i]
    print "module " $1 " refcount=" $3 " holders=" list " state=" $5
  }' "$proc/modules"
  # Parameters of the loaded modules: a module vmlaunch unloads and loads again must
  # come back with the values the host had (modprobe.d options, sysfs writes).
  while read -r m _; do
    for p in "$sys/module/$m/parameters/"*; do
      [ -e "$p" ] && echo "module-param $m ${p##*/}=$(first_line "$p")"
    done
  done < <([ -r "$proc/modules" ] && cat "$proc/modules")
  for v in "$sys"/class/vtconsole/vtcon*; do
    [ -e "$v" ] || continue
    echo "vtconsole $(basename "$v") bind=$(first_line "$v/bind") name=$(first_line "$v/name")"
  done
  for drv in efi-framebuffer simple-framebuffer vesa-framebuffer; do
    [ -d "$sys/bus/platform/drivers/$drv" ] || { echo "platform-driver $drv absent"; continue; }
    bound=$(cd "$sys/bus/platform/drivers/$drv" && ls -d -- *.[0-9]* 2>/dev/null | tr '\n' ' ')
    echo "platform-driver $drv bound=${bound:-(none)}"
  done
  for dev_name in efi-framebuffer.0 simple-framebuffer.0 vesa-framebuffer.0; do
    [ -e "$sys/bus/platform/devices/$dev_name" ] &&
      echo "platform-device $dev_name driver=$(link_name "$sys/bus/platform/devices/$dev_name/driver")"
  done
  [ -r "$proc/fb" ] && sed 's/^/fb /' "$proc/fb"
  for h in "$sys"/kernel/mm/hugepages/hugepages-* "$sys"/devices/system/node/node*/hugepages/hugepages-*; do
    [ -e "$h" ] || continue
    echo "hugepages ${h#"$sys"/} nr=$(first_line "$h/nr_hugepages") free=$(first_line "$h/free_hugepages")"
    [ -e "$h/nr_overcommit_hugepages" ] &&
      echo "hugepages ${h#"$sys"/} overcommit=$(first_line "$h/nr_overcommit_hugepages")"
  done
  for g in "$sys"/devices/system/cpu/cpu*/cpufreq/scaling_governor; do
    [ -e "$g" ] && echo "governor ${g#"$sys"/} $(first_line "$g")"
  done
  for u in $units; do
    echo "unit $u $(systemctl is-active "$u" 2>/dev/null || true)"
  done
  # isolate_cpus: the CPUs systemd allows the host's own slices (empty: all)
  if [ -d /run/systemd/system ] && [ -z "${SYSFS:-}" ]; then
    systemctl show -p Id -p AllowedCPUs init.scope system.slice user.slice machine.slice |
      awk -F= '$1 == "Id" { id = $2 } $1 == "AllowedCPUs" { print "allowed-cpus " id " " $2 }'
  fi
  # vmlaunch's own runtime state: run dirs, journals, state files, sockets (the QEMU
  # version cache is kept across runs on purpose).
  [ -d "$run/vmlaunch" ] &&
    find "$run/vmlaunch" -mindepth 1 ! -name .qemu-versions -printf 'vmlaunch-runtime %P %y %m\n'
  # systemd's runtime drop-ins (set-property --runtime, as isolate_cpus does) and
  # transient units (QEMU's scope), with their contents.
  for d in "$run/systemd/system.control" "$run/systemd/transient"; do
    [ -d "$d" ] && find "$d" -type f -exec sha1sum {} + | sed "s|^\([0-9a-f]*\)  $d/\(.*\)|systemd-runtime ${d##*/}/\2 sha1=\1|"
  done
  if [ -d /run/systemd/system ] && [ -z "${SYSFS:-}" ]; then
    systemctl list-units --all --plain --no-legend 'vmlaunch-*' |
      awk '{ print "vmlaunch-unit " $1 " " $3 " " $4 }'
  fi
  if [ -d "$dev/vfio" ]; then
    echo "vfio-devices $(cd "$dev/vfio" && ls | sort | tr '\n' ' ')"
  else
    echo "vfio-devices (no $dev/vfio)"
  fi
} | LC_ALL=C sort
