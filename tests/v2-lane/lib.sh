# shellcheck shell=bash
# What the qemu lanes share, sourced by tests/v2-lane/run.sh and tests/systemd-lane/run.sh:
# host checks, the Debian kernel (downloaded once, unpacked, cached), an initramfs of
# busybox-static plus a list of modules, and one qemu invocation whose guest writes its
# report to the virtio-serial port "ocirun.out" (a file on the host, printed live).
#
# The sourcing script sets LANE_NAME (the prefix of every message) before sourcing and
# runs under `set -euo pipefail`. Environment read here (see tests/v2-lane/run.sh):
# OCIRUN_V2_LANE_KERNEL (kernel package). Exit conventions: die exits 1, skip exits 77.

: "${LANE_NAME:?set LANE_NAME before sourcing tests/v2-lane/lib.sh}"

log() { printf '%s: %s\n' "$LANE_NAME" "$*" >&2; }
die() {
    log "FAIL: $*"
    exit 1
}
skip() {
    log "SKIP: $*"
    exit 77
}

# Commands run when the lane's script exits, however it exits (last registered, first run).
LANE_EXIT_HOOKS=()
lane_run_exit_hooks() {
    local i
    for ((i = ${#LANE_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${LANE_EXIT_HOOKS[i]}" || true
    done
}
trap lane_run_exit_hooks EXIT
lane_on_exit() { LANE_EXIT_HOOKS+=("$1"); }

# lane_check_host: root, amd64, the host tools (installed with apt-get when missing), and
# a qemu that starts with software emulation. Skips (77) when the lane cannot run here.
lane_check_host() {
    [[ ${EUID:-$(id -u)} -eq 0 ]] || die "must run as root (apt-get, and the guest's 9p share is read as root)"
    local arch
    arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
    [[ $arch == amd64 || $arch == x86_64 ]] || skip "the lane boots Debian's amd64 kernel; this host is $arch"

    local missing=()
    command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
    command -v cpio >/dev/null 2>&1 || missing+=(cpio)
    [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
    command -v jq >/dev/null 2>&1 || missing+=(jq)
    command -v objcopy >/dev/null 2>&1 || missing+=(binutils)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
            die "could not install ${missing[*]} with apt-get"
    fi
    if ldd /bin/busybox >/dev/null 2>&1; then
        die "/bin/busybox is dynamically linked; the guest needs busybox-static"
    fi
    # Can qemu run at all here (TCG; /dev/kvm is not used)?
    local qemu_probe
    if ! qemu_probe="$(echo quit | timeout 20 qemu-system-x86_64 -accel tcg -machine none \
        -display none -nodefaults -no-user-config -S -monitor stdio 2>&1)"; then
        skip "qemu-system-x86_64 cannot start with software emulation here: ${qemu_probe//$'\n'/ }"
    fi
}

# lane_fetch_kernel CACHE: the kernel package, unpacked (never installed) into CACHE/kernel
# once; sets VMLINUZ, KVER and MODDIR.
lane_fetch_kernel() {
    local cache="$1" kdir="$1/kernel" pkg
    mkdir -p "$cache"
    if [[ ! -f $kdir/.complete ]]; then
        pkg="${OCIRUN_V2_LANE_KERNEL:-}"
        if [[ -z $pkg ]]; then
            pkg="$(apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)"
            if [[ -z $pkg ]]; then
                apt-get update >/dev/null 2>&1 || true
                pkg="$(apt-cache depends linux-image-amd64 2>/dev/null |
                    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)"
            fi
            [[ -n $pkg ]] || die "apt knows no linux-image-amd64 kernel package (apt-get update failed?)"
        fi
        log "fetching $pkg with apt-get download"
        rm -rf "$kdir" "$kdir.tmp" "$cache"/download
        mkdir -p "$cache/download"
        (cd "$cache/download" && apt-get download "$pkg" >/dev/null 2>&1) ||
            die "apt-get download $pkg failed (no network, or the package is gone: set OCIRUN_V2_LANE_KERNEL)"
        dpkg -x "$cache"/download/"$pkg"_*.deb "$kdir.tmp" || die "dpkg -x of $pkg failed"
        rm -rf "$cache/download"
        echo "$pkg" >"$kdir.tmp/.complete"
        mv "$kdir.tmp" "$kdir"
    fi
    local images=("$kdir"/boot/vmlinuz-*)
    VMLINUZ="${images[0]}"
    [[ -f $VMLINUZ ]] || die "no boot/vmlinuz-* in $kdir"
    KVER="${VMLINUZ##*/vmlinuz-}"
    MODDIR="$kdir/lib/modules/$KVER"
}

# lane_build_initramfs INIT_SCRIPT DIR CPIO MODULE...: an initramfs in DIR, packed into
# CPIO: /bin/busybox, INIT_SCRIPT as /init, and the modules with their dependencies in
# /modules (loaded in the order /modules/order lists). The package ships no modules.dep,
# so each module's dependencies are read from its .modinfo section with objcopy.
lane_build_initramfs() {
    local init_script="$1" dir="$2" cpio_file="$3"
    shift 3
    local -A by_name=() seen=()
    local order=() f b m modinfo_tmp
    while IFS= read -r f; do
        b="${f##*/}"
        b="${b%.ko}"
        by_name[${b//-/_}]="$f"
    done < <(find "$MODDIR/kernel" -name '*.ko')
    modinfo_tmp="$(mktemp)"
    lane_on_exit "rm -f '$modinfo_tmp'"
    add_module() {
        local name="${1//-/_}" file deps d
        [[ -n ${seen[$name]:-} ]] && return 0
        seen[$name]=1
        file="${by_name[$name]:-}"
        if [[ -z $file ]]; then
            grep -q "/${name}.ko\$\|/${1}.ko\$" "$MODDIR/modules.builtin" ||
                die "module $1 is neither in $KVER's modules nor built in"
            return 0
        fi
        objcopy -O binary --only-section=.modinfo --set-section-flags .modinfo=alloc "$file" "$modinfo_tmp"
        deps="$(tr '\0' '\n' <"$modinfo_tmp" | sed -n 's/^depends=//p' | tr ',' ' ')"
        for d in $deps; do add_module "$d"; done
        order+=("$name")
    }
    for m in "$@"; do add_module "$m"; done
    unset -f add_module
    rm -f "$modinfo_tmp"

    rm -rf "$dir"
    mkdir -p "$dir"/{bin,modules,proc,sys,dev,newroot}
    cp /bin/busybox "$dir/bin/busybox"
    cp "$init_script" "$dir/init"
    chmod 755 "$dir/init"
    cp "$(dirname "${BASH_SOURCE[0]}")/init-lib.sh" "$dir/init-lib.sh"
    for m in "${order[@]}"; do
        cp "${by_name[$m]}" "$dir/modules/$m.ko"
        echo "$m" >>"$dir/modules/order"
    done
    (cd "$dir" && find . | cpio -o -H newc --quiet) >"$cpio_file"
}

# lane_ocirun_bin: the ocirun binary the lane tests (OCIRUN_BIN, or the debug build,
# built if missing), printed.
lane_ocirun_bin() {
    local bin="${OCIRUN_BIN:-$TARGET/debug/ocirun}"
    if [[ ! -x $bin ]]; then
        log "building $bin"
        (cd "$REPO" && cargo build --bin ocirun >&2) || die "cargo build failed"
    fi
    echo "$bin"
}

# lane_boot OUT TIMEOUT APPEND [QEMU-ARG...]: boots VMLINUZ with the initramfs LANE_INITRD,
# the kernel command line APPEND and the extra qemu arguments (the 9p shares), under a hard
# timeout. The guest's report (virtio-serial port "ocirun.out") goes to OUT/guest.log and
# is printed live; the kernel console goes to OUT/console.log, qemu's own messages to
# OUT/qemu.log. Sets LANE_QEMU_RC (124: the timeout) and LANE_BOOT_SECONDS. If the script
# dies while the guest runs, the exit hook stops qemu and the tail.
LANE_QEMU_PID=
LANE_TAIL_PID=
lane_stop_guest() {
    [[ -z $LANE_QEMU_PID ]] || kill "$LANE_QEMU_PID" 2>/dev/null || true
    [[ -z $LANE_TAIL_PID ]] || kill "$LANE_TAIL_PID" 2>/dev/null || true
}
lane_on_exit lane_stop_guest
lane_boot() {
    local out="$1" timeout_secs="$2" append="$3"
    shift 3
    rm -rf "$out"
    mkdir -p "$out"
    : >"$out/guest.log"
    local boot_start=$SECONDS
    timeout -k 5 "$timeout_secs" qemu-system-x86_64 \
        -accel tcg -machine pc -cpu max -smp 2 -m 1024 \
        -nodefaults -no-user-config -display none -monitor none -no-reboot \
        -kernel "$VMLINUZ" -initrd "$LANE_INITRD" \
        -append "$append" \
        -serial "file:$out/console.log" \
        -device virtio-serial-pci \
        -chardev "file,id=out,path=$out/guest.log" \
        -device virtserialport,chardev=out,name=ocirun.out \
        "$@" \
        </dev/null >"$out/qemu.log" 2>&1 &
    LANE_QEMU_PID=$!
    tail -n +1 -f --pid="$LANE_QEMU_PID" "$out/guest.log" &
    LANE_TAIL_PID=$!
    LANE_QEMU_RC=0
    wait "$LANE_QEMU_PID" || LANE_QEMU_RC=$?
    LANE_QEMU_PID=
    sleep 0.2
    kill "$LANE_TAIL_PID" 2>/dev/null || true
    wait "$LANE_TAIL_PID" 2>/dev/null || true
    LANE_TAIL_PID=
    LANE_BOOT_SECONDS=$((SECONDS - boot_start))
}

# lane_guest_summary OUT: sets LANE_SUMMARY to the guest's last `N passed, M failed` line
# and LANE_FAILED to M, or fails the lane (with qemu's messages and the console's tail)
# when the guest did not get that far.
lane_guest_summary() {
    local out="$1"
    LANE_SUMMARY="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/guest.log" | tail -1 || true)"
    if [[ -z $LANE_SUMMARY ]]; then
        log "the guest did not finish (qemu exit $LANE_QEMU_RC after ${LANE_BOOT_SECONDS}s; 124 is the timeout)"
        log "--- qemu ---"
        cat "$out/qemu.log" >&2
        log "--- last lines of the guest console ($out/console.log) ---"
        tail -n 30 "$out/console.log" >&2
        exit 1
    fi
    LANE_FAILED="${LANE_SUMMARY#*, }"
    LANE_FAILED="${LANE_FAILED%% *}"
}
