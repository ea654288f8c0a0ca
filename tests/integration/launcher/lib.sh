# Shared by the launcher integration tests (sourced): a private config and
# runtime dir, root-owned definitions, a `vmlaunch run` in the background, and
# waits that always have a deadline.
set -u
: "${VMLAUNCH:?set by meson}" "${SOURCE_ROOT:?set by meson}"
HERE=$SOURCE_ROOT/tests/integration/launcher
QEMU_BIN=qemu-system-x86_64

skip() {
        echo "skipped: $*"
        exit 77
}

fail() {
        echo "FAIL: $*"
        if [ -s "${LOG:-}" ]; then
                echo "--- vmlaunch log"
                cat "$LOG"
        fi
        exit 1
}

command -v "$QEMU_BIN" >/dev/null || skip "$QEMU_BIN is not installed"
[ "$(id -u)" = 0 ] || skip "needs root: vmlaunch wants root-owned definitions and pins threads"

TMP=$(mktemp -d /tmp/vmlaunch-it.XXXXXX)
# QEMU runs as its own user: it must be able to reach the files handed over to it.
chmod 0711 "$TMP"
export VMLAUNCH_RUNTIME_DIR=$TMP/run VMLAUNCH_CONFIG_DIR=$TMP/etc
mkdir -p "$VMLAUNCH_CONFIG_DIR"
LOG=$TMP/run.log
VM_PID=      # the `timeout vmlaunch run` in the background
VM_STATUS=   # its exit status once reaped

cleanup() {
        local qemu_pid
        qemu_pid=$(state_get qemu_pid 2>/dev/null)
        [ -n "$VM_PID" ] && kill -KILL "$VM_PID" 2>/dev/null
        # qemu_pid=0 before QEMU starts: `kill 0` would kill this whole process group.
        [ "${qemu_pid:-0}" -gt 0 ] 2>/dev/null && kill -KILL "$qemu_pid" 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT

# install_def NAME FILE [sed expression]: a root-owned 0644 copy, as vmlaunch wants.
install_def() {
        sed -e "s/^name = .*/name = $1/" ${3:+-e "$3"} "$2" >"$VMLAUNCH_CONFIG_DIR/$1.ini"
        chown root:root "$VMLAUNCH_CONFIG_DIR/$1.ini"
        chmod 0644 "$VMLAUNCH_CONFIG_DIR/$1.ini"
}

# start_vm NAME [SECONDS]: `vmlaunch run NAME` in the background, output in $LOG,
# killed after SECONDS (60).
start_vm() {
        # Emptied here, not by the background job's redirection: a wait_for_log right
        # after could otherwise still read the previous run's lines.
        : >"$LOG"
        timeout -s KILL "${2:-60}" "$VMLAUNCH" run "$1" >>"$LOG" 2>&1 &
        VM_PID=$!
}

# debian_kernel: the Debian kernel tests/system/host.sh downloads and caches under
# BUILD_ROOT; sets host_dir and kernel. Skips only when Debian's archive is unreachable.
debian_kernel() {
        : "${BUILD_ROOT:?set by meson}"
        host_dir=$BUILD_ROOT/system-host
        local reason
        reason=$("$SOURCE_ROOT/tests/system/host.sh" --dir "$host_dir" prepare 2>&1)
        case $? in
        0) ;;
        77) skip "no Debian kernel: $(tail -1 <<<"$reason")" ;; # no network
        *) fail "tests/system/host.sh prepare: $(tail -3 <<<"$reason" | tr '\n' ' ')" ;;
        esac
        kernel=$(readlink -f "$host_dir/vmlinuz")
        [ -f "$kernel" ] || fail "host.sh prepared no $host_dir/vmlinuz"
}

# linux_guest: the tests' Linux guest (the demo's), Debian's kernel (debian_kernel) with
# an initramfs of busybox and Debian's real qemu-guest-agent, built once per build dir by
# examples/linux-guest/build-initramfs; sets kernel and initrd (and host_dir). Its init says what the
# guest prints and which vlguest.* switches it takes. Skips only when Debian's archive
# is unreachable.
linux_guest() {
        debian_kernel
        local reason
        reason=$("$SOURCE_ROOT/examples/linux-guest/build-initramfs" --dir "$BUILD_ROOT/linux-guest" "$host_dir/root" \
                "${kernel##*/vmlinuz-}" 2>&1)
        case $? in
        0) ;;
        2) skip "no Linux guest: $(tail -1 <<<"$reason")" ;; # no network
        *) fail "build-initramfs: $(tail -3 <<<"$reason" | tr '\n' ' ')" ;;
        esac
        initrd=$BUILD_ROOT/linux-guest/initramfs.cpio.gz
}

# install_linux_guest NAME [VLGUEST_SWITCHES]: a definition (linux_guest.ini) that
# boots the Linux guest with its console in $LOG; linux_guest must have run. Tests
# append their own sections to $VMLAUNCH_CONFIG_DIR/NAME.ini.
install_linux_guest() {
        install_def "$1" "$HERE/linux_guest.ini" \
                "s|@KERNEL@|$kernel|; s|@INITRD@|$initrd|; s|@SWITCHES@|${2:-}|"
}

# guest_port_forward GUEST_PORT: sets host_port, a free port on 127.0.0.1, and
# forward_args, QEMU arguments (for [qemu] args) of a user network, restricted (the
# guest reaches nothing), on which 127.0.0.1:host_port is the guest's GUEST_PORT; the
# Linux guest listens there with vlguest.listen=GUEST_PORT.
guest_port_forward() {
        host_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
                fail "no free TCP port on 127.0.0.1"
        forward_args="-netdev user,id=fwd,restrict=on,hostfwd=tcp:127.0.0.1:$host_port-:$1"
        forward_args+=" -device virtio-net-pci,netdev=fwd"
}

RUN_DIR_OF() { echo "$VMLAUNCH_RUNTIME_DIR/$1"; }

# state_get KEY [NAME]: a value from the state file of the (only) VM.
state_get() {
        local f
        for f in "$VMLAUNCH_RUNTIME_DIR"/*/state; do
                [ -f "$f" ] && sed -n "s/^$1=//p" "$f"
        done
}

# wait_for_log TEXT [SECONDS]: until the log has TEXT; fails if vmlaunch ends first.
wait_for_log() {
        local deadline=$((SECONDS + ${2:-20}))
        while ! grep -qF -- "$1" "$LOG"; do
                kill -0 "$VM_PID" 2>/dev/null || fail "vmlaunch ended before logging '$1'"
                [ $SECONDS -lt $deadline ] || fail "no '$1' in the log after ${2:-20} s"
                sleep 0.05
        done
}

# wait_vm_exit [SECONDS]: reaps vmlaunch into VM_STATUS, or fails after SECONDS.
wait_vm_exit() {
        local deadline=$((SECONDS + ${1:-20}))
        while kill -0 "$VM_PID" 2>/dev/null; do
                [ $SECONDS -lt $deadline ] || fail "vmlaunch still runs after ${1:-20} s"
                sleep 0.05
        done
        wait "$VM_PID"
        VM_STATUS=$?
        VM_PID=
}

# cpus_of PID TID: the kernel's Cpus_allowed_list of one thread.
cpus_of() {
        sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/task/$2/status"
}

# tid_named PID COMM: the thread of PID whose name (debug-threads=on) is COMM.
tid_named() {
        local t
        for t in /proc/"$1"/task/*; do
                [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && basename "$t" && return 0
        done
        return 1
}

# [tpm] tests: swtpm is needed, and the VM's TPM state lives in $TMP/tpm.
require_swtpm() {
        command -v swtpm >/dev/null && command -v swtpm_setup >/dev/null ||
                skip "swtpm and swtpm_setup are not installed (Debian: swtpm swtpm-tools)"
        TPM_DIR=$TMP/tpm
}

# swtpm_pids: the swtpm processes serving this test's TPM state.
swtpm_pids() {
        pgrep -f -- "--tpmstate dir=$TPM_DIR/state" || true
}

# wait_swtpm_gone [SECONDS]: until no swtpm of this test runs.
wait_swtpm_gone() {
        local deadline=$((SECONDS + ${1:-10}))
        while [ -n "$(swtpm_pids)" ]; do
                [ $SECONDS -lt $deadline ] || fail "swtpm still runs ${1:-10} s after the VM ended: $(swtpm_pids)"
                sleep 0.05
        done
}

# wait_for_state STATE [SECONDS [STEP]]: until the (only) run's state file says STATE
# (and, when given, STEP: preparing and restoring name the host step at work).
wait_for_state() {
        local deadline=$((SECONDS + ${2:-20}))
        until [ "$(state_get state)" = "$1" ] && [ -z "${3:-}" -o "$(state_get step)" = "${3:-}" ]; do
                kill -0 "$VM_PID" 2>/dev/null || fail "vmlaunch ended before state $1 ${3:-}"
                [ $SECONDS -lt $deadline ] ||
                        fail "no state $1 ${3:-} after ${2:-20} s (state: $(state_get state) $(state_get step))"
                sleep 0.05
        done
}

# wait_for_lines FILE N [SECONDS]: until FILE has N lines.
wait_for_lines() {
        local deadline=$((SECONDS + ${3:-20}))
        until [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; do
                [ $SECONDS -lt $deadline ] || fail "$1 has fewer than $2 lines after ${3:-20} s: $(cat "$1")"
                sleep 0.05
        done
}

# wait_for_socket_of PID [SECONDS]: until the vmlaunch started as `timeout ... vmlaunch`
# (PID) holds a socket: a client of events.sock is connected.
wait_for_socket_of() {
        local deadline=$((SECONDS + ${2:-20})) child
        until child=$(pgrep -P "$1") && find "/proc/$child/fd" -lname 'socket:*' 2>/dev/null | grep -q .; do
                kill -0 "$1" 2>/dev/null || fail "pid $1 ended before it connected"
                [ $SECONDS -lt $deadline ] || fail "pid $1 did not connect in ${2:-20} s"
                sleep 0.05
        done
}

# wait_for_text FILE REGEX [SECONDS]: until a line of FILE matches REGEX (grep -E).
wait_for_text() {
        local deadline=$((SECONDS + ${3:-20}))
        until grep -qE -- "$2" "$1" 2>/dev/null; do
                [ $SECONDS -lt $deadline ] || fail "no '$2' in $1 after ${3:-20} s: $(cat "$1")"
                sleep 0.05
        done
}

# wait_for_run [SECONDS]: until the run publishes its state (it holds its lock), in any state.
wait_for_run() {
        local deadline=$((SECONDS + ${1:-20}))
        until [ -n "$(state_get pid)" ]; do
                kill -0 "$VM_PID" 2>/dev/null || fail "vmlaunch ended before it published its state"
                [ $SECONDS -lt $deadline ] || fail "no state file after ${1:-20} s"
                sleep 0.05
        done
}
