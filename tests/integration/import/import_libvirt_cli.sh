#!/bin/bash
# vmlaunch import-libvirt as users call it: exit codes for bad input (malformed XML,
# not a domain, a missing file, a bad command line), a domain without a GPU, a domain
# with features vmlaunch lacks (each one a "# not imported:" line and the same warning
# on stderr), --hooks, and an import that `vmlaunch check` accepts without an error.
set -u
: "${VMLAUNCH:?set by meson}" "${SOURCE_ROOT:?set by meson}"
TMP=$(mktemp -d /tmp/vmlaunch-import.XXXXXX)
chmod 0755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() {
        echo "FAIL: $*"
        fails=$((fails + 1))
}
# expect CODE DESCRIPTION -- COMMAND...: runs it, output in $TMP/out and $TMP/err.
expect() {
        local code=$1 what=$2
        shift 3
        "$@" >"$TMP/out" 2>"$TMP/err"
        local rc=$?
        if [ "$rc" != "$code" ]; then
                fail "$what: exit $rc, expected $code"
                sed 's/^/    /' "$TMP/err" | head -5
        else
                echo "ok: $what (exit $code)"
        fi
}
has() { grep -qF -- "$2" "$1" || fail "$1 lacks: $2"; }

# --- bad input ---------------------------------------------------------------
printf "<domain type='kvm'>\n<name>x</name>\n<vcpu>2</cpu>\n</domain>\n" >"$TMP/malformed.xml"
expect 3 "malformed XML" -- "$VMLAUNCH" import-libvirt "$TMP/malformed.xml"
has "$TMP/err" "not well-formed XML, line 3"
[ -s "$TMP/out" ] && fail "malformed XML printed a definition"

echo "<network><name>default</name></network>" >"$TMP/network.xml"
expect 3 "XML that is not a domain" -- "$VMLAUNCH" import-libvirt "$TMP/network.xml"
has "$TMP/err" "the root element is <network>, not a libvirt <domain>"

printf '<!DOCTYPE domain [<!ENTITY a "aaaa">]>\n<domain><name>&a;</name></domain>\n' >"$TMP/entity.xml"
expect 3 "a DOCTYPE with entities" -- "$VMLAUNCH" import-libvirt "$TMP/entity.xml"
has "$TMP/err" "DOCTYPE"

expect 3 "a missing file" -- "$VMLAUNCH" import-libvirt "$TMP/nope.xml"
head -c $((5 << 20)) /dev/zero | tr '\0' ' ' >"$TMP/huge.xml"
expect 3 "a file over 4 MiB" -- "$VMLAUNCH" import-libvirt "$TMP/huge.xml"
expect 2 "no argument" -- "$VMLAUNCH" import-libvirt
expect 2 "two arguments" -- "$VMLAUNCH" import-libvirt a.xml b.xml
expect 2 "a bad --name" -- "$VMLAUNCH" import-libvirt --name 'a b' "$TMP/network.xml"
expect 2 "an unknown option" -- "$VMLAUNCH" import-libvirt --frobnicate x.xml
expect 0 "--help" -- "$VMLAUNCH" import-libvirt --help
has "$TMP/out" "Exit status"

# --- a domain without a GPU, from stdin ---------------------------------------
cat >"$TMP/plain.xml" <<'EOF'
<domain type='qemu'>
  <name>plain vm</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
</domain>
EOF
expect 0 "a domain without a GPU, on stdin" -- "$VMLAUNCH" import-libvirt - <"$TMP/plain.xml"
has "$TMP/err" "passes no GPU through"
has "$TMP/err" "'plain vm' is no VM name"
has "$TMP/out" "name = plain-vm"
grep -q '^\[gpu\]' "$TMP/out" && fail "a domain without a GPU got a [gpu] section"

# --- features vmlaunch lacks: each named in the definition and on stderr -------
cat >"$TMP/lacks.xml" <<'EOF'
<domain type='kvm'>
  <name>lacks</name>
  <memory unit='GiB'>4</memory>
  <vcpu>2</vcpu>
  <numatune><memory mode='strict' nodeset='0'/></numatune>
  <cputune><shares>2048</shares></cputune>
  <devices>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='pool/image'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='direct'><source dev='eth0' mode='bridge'/></interface>
    <graphics type='spice' autoport='yes'/>
    <sound model='ich9'/>
    <redirdev bus='usb' type='spicevmc'/>
  </devices>
</domain>
EOF
expect 0 "a domain with features vmlaunch lacks" -- "$VMLAUNCH" import-libvirt "$TMP/lacks.xml"
for element in "numatune" "cputune/shares" "devices/disk vda" "devices/interface type='direct'" \
        "devices/graphics type='spice'" "devices/sound" "devices/redirdev type='spicevmc'"; do
        has "$TMP/out" "# not imported: $element: "
        has "$TMP/err" "warning: not imported: $element: "
done
# Nothing is said in one place only: every "# not imported:" line is a warning too.
diff <(sed -n 's/^# not imported: //p' "$TMP/out" | sort) \
        <(sed -n 's/^vmlaunch import-libvirt: warning: not imported: //p' "$TMP/err" | sort) ||
        fail "the definition's 'not imported' lines and the warnings differ"

# --- hooks: what vmlaunch does itself, and what remains -----------------------
mkdir -p "$TMP/hooks/prepare/begin" "$TMP/hooks/release/end"
cat >"$TMP/hooks/prepare/begin/start.sh" <<'EOF'
#!/bin/bash
set -x
systemctl stop display-manager
echo 0 > /sys/class/vtconsole/vtcon0/bind
echo efi-framebuffer.0 > /sys/bus/platform/drivers/efi-framebuffer/unbind
sleep 5
modprobe -r nvidia_drm nvidia_modeset nvidia
virsh nodedev-detach pci_0000_06_00_0
modprobe vfio-pci
/usr/local/bin/rgb-lights off
EOF
cat >"$TMP/hooks/release/end/revert.sh" <<'EOF'
#!/bin/bash
virsh nodedev-reattach pci_0000_06_00_0
systemctl start display-manager
EOF
expect 0 "--hooks" -- "$VMLAUNCH" import-libvirt --name win10 --hooks "$TMP/hooks" "$TMP/plain.xml"
has "$TMP/out" "#   done by vmlaunch: line 3: systemctl stop display-manager: display manager"
has "$TMP/out" "#   done by vmlaunch: line 6: sleep 5: a fixed sleep"
has "$TMP/out" "#   done by vmlaunch: line 8: virsh nodedev-detach pci_0000_06_00_0: detach"
has "$TMP/out" "#   remains: line 10: /usr/local/bin/rgb-lights off"
has "$TMP/out" "#   -> keep these in an executable of /etc/vmlaunch/hooks/win10/prepare/begin/"
has "$TMP/err" "hook prepare/begin/start.sh: 7 command(s) done by vmlaunch, 1 remain"
has "$TMP/err" "hook release/end/revert.sh: 2 command(s) done by vmlaunch, 0 remain"
# libvirt's hooks folder above the domain's (qemu.d/NAME/...): the stage is still found.
mkdir -p "$TMP/libvirt-hooks/qemu.d"
cp -r "$TMP/hooks" "$TMP/libvirt-hooks/qemu.d/win10"
expect 0 "--hooks on libvirt's own hooks folder" -- "$VMLAUNCH" import-libvirt --name win10 --hooks "$TMP/libvirt-hooks" "$TMP/plain.xml"
has "$TMP/out" "# qemu.d/win10/prepare/begin/start.sh:"
has "$TMP/out" "#   -> keep these in an executable of /etc/vmlaunch/hooks/win10/prepare/begin/"
expect 1 "--hooks on a missing folder" -- "$VMLAUNCH" import-libvirt --hooks "$TMP/none" "$TMP/plain.xml"

# --- an import that check accepts ---------------------------------------------
# check reads root-owned definitions; unprivileged, --allow-unsafe-owner stands in.
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is not installed"; exit 77; }
owner=()
[ "$(id -u)" = 0 ] || owner=(--allow-unsafe-owner)
export VMLAUNCH_CONFIG_DIR=$TMP/etc
mkdir -p "$VMLAUNCH_CONFIG_DIR" "$TMP/images"
truncate -s 64M "$TMP/images/disk.img"
cat >"$TMP/runnable.xml" <<EOF
<domain type='qemu'>
  <name>runnable</name>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static'>2</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <vcpupin vcpu='0' cpuset='0'/>
    <vcpupin vcpu='1' cpuset='1'/>
    <emulatorpin cpuset='0-1'/>
    <iothreadpin iothread='1' cpuset='0'/>
  </cputune>
  <os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/><hyperv><relaxed state='on'/><vapic state='on'/>
    <spinlocks state='on' retries='8191'/></hyperv></features>
  <cpu mode='custom'><model>qemu64</model><topology sockets='1' cores='2' threads='1'/></cpu>
  <clock offset='localtime'><timer name='hypervclock' present='yes'/></clock>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native' iothread='1'/>
      <source file='$TMP/images/disk.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
expect 0 "import of a runnable domain" -- "$VMLAUNCH" import-libvirt "$TMP/runnable.xml"
install -m 0644 "$TMP/out" "$VMLAUNCH_CONFIG_DIR/runnable.ini"
expect 0 "vmlaunch check accepts the import" -- "$VMLAUNCH" check "${owner[@]}" runnable
grep -i "error" "$TMP/out" "$TMP/err" && fail "check printed an error"
# The guide's domain: a valid definition; only this host's lack of its GPU and
# files may stop it (exit 4), never the definition (exit 3).
"$VMLAUNCH" import-libvirt "$SOURCE_ROOT/tests/fixtures/import/win10-guide.xml" \
        >"$VMLAUNCH_CONFIG_DIR/win10.ini" 2>/dev/null
chmod 0644 "$VMLAUNCH_CONFIG_DIR/win10.ini"
"$VMLAUNCH" check "${owner[@]}" win10 >"$TMP/out" 2>&1
rc=$?
case $rc in
0 | 4) echo "ok: the guide's import is a valid definition (check exit $rc)" ;;
*) fail "check of the guide's import exited $rc"; cat "$TMP/out" ;;
esac

[ $fails = 0 ] && echo "all passed"
[ $fails = 0 ]
