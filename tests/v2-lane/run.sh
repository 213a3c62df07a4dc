#!/usr/bin/env bash
# The pure cgroup v2 lane: boots a small qemu guest (software emulation, no KVM needed)
# with a Debian bookworm kernel, cgroup_no_v1=all and every cgroup2 controller enabled,
# and runs tests/v2-lane/guest-test.sh there against the host-built ocirun. See
# docs/cgroups.md ("The pure-v2 lane").
#
#   bash tests/v2-lane/run.sh          # as root; builds target/debug/ocirun if missing
#
# Environment:
#   OCIRUN_BIN=path               the ocirun binary to test (default:
#                                 ${CARGO_TARGET_DIR:-target}/debug/ocirun, built if missing)
#   OCIRUN_V2_LANE_CACHE=dir      cache (default: ${CARGO_TARGET_DIR:-target}/v2-lane)
#   OCIRUN_V2_LANE_KERNEL=pkg     kernel package (default: what linux-image-amd64 depends on)
#   OCIRUN_V2_LANE_TIMEOUT=secs   hard timeout of the guest (default 240)
#
# Exit status: 0 when every guest check passed; 77 when the lane cannot run on this
# machine (not amd64, or qemu cannot start), with the reason printed; 1 otherwise
# (a failed check, a guest that did not finish, a kernel that cannot be downloaded).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LANE="$REPO/tests/v2-lane"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
CACHE="${OCIRUN_V2_LANE_CACHE:-$TARGET/v2-lane}"
TIMEOUT="${OCIRUN_V2_LANE_TIMEOUT:-240}"
START=$SECONDS

log() { printf 'v2-lane: %s\n' "$*" >&2; }
die() {
    log "FAIL: $*"
    exit 1
}
skip() {
    log "SKIP: $*"
    exit 77
}

[[ ${EUID:-$(id -u)} -eq 0 ]] || die "must run as root (apt-get, and the guest's 9p share is read as root)"
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
[[ $arch == amd64 || $arch == x86_64 ]] || skip "the lane boots Debian's amd64 kernel; this host is $arch"

# --- host tools -------------------------------------------------------------------------
missing=()
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
if ! qemu_probe="$(echo quit | timeout 20 qemu-system-x86_64 -accel tcg -machine none \
    -display none -nodefaults -no-user-config -S -monitor stdio 2>&1)"; then
    skip "qemu-system-x86_64 cannot start with software emulation here: ${qemu_probe//$'\n'/ }"
fi

mkdir -p "$CACHE"

# --- the kernel: a Debian package, unpacked (never installed) ----------------------------
KDIR="$CACHE/kernel"
if [[ ! -f $KDIR/.complete ]]; then
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
    rm -rf "$KDIR" "$KDIR.tmp" "$CACHE"/download
    mkdir -p "$CACHE/download"
    (cd "$CACHE/download" && apt-get download "$pkg" >/dev/null 2>&1) ||
        die "apt-get download $pkg failed (no network, or the package is gone: set OCIRUN_V2_LANE_KERNEL)"
    dpkg -x "$CACHE"/download/"$pkg"_*.deb "$KDIR.tmp" || die "dpkg -x of $pkg failed"
    rm -rf "$CACHE/download"
    echo "$pkg" >"$KDIR.tmp/.complete"
    mv "$KDIR.tmp" "$KDIR"
fi
VMLINUZ="$(ls "$KDIR"/boot/vmlinuz-* | head -1)"
KVER="${VMLINUZ##*/vmlinuz-}"
MODDIR="$KDIR/lib/modules/$KVER"

# --- the initramfs: busybox, /init, and the modules for virtio, 9p and the output port ---
declare -A MODS=()
while IFS= read -r f; do
    b="${f##*/}"
    b="${b%.ko}"
    MODS[${b//-/_}]="$f"
done < <(find "$MODDIR/kernel" -name '*.ko')
declare -A SEEN=()
ORDER=()
modinfo_tmp="$(mktemp)"
trap 'rm -f "$modinfo_tmp"' EXIT
add_module() {
    local name="${1//-/_}" file deps d
    [[ -n ${SEEN[$name]:-} ]] && return 0
    SEEN[$name]=1
    file="${MODS[$name]:-}"
    if [[ -z $file ]]; then
        grep -q "/${name}.ko\$\|/${1}.ko\$" "$MODDIR/modules.builtin" ||
            die "module $1 is neither in $KVER's modules nor built in"
        return 0
    fi
    objcopy -O binary --only-section=.modinfo --set-section-flags .modinfo=alloc "$file" "$modinfo_tmp"
    deps="$(tr '\0' '\n' <"$modinfo_tmp" | sed -n 's/^depends=//p' | tr ',' ' ')"
    for d in $deps; do add_module "$d"; done
    ORDER+=("$name")
}
for m in virtio_pci virtio_console 9pnet_virtio 9p; do add_module "$m"; done

INITRD_DIR="$CACHE/initramfs"
rm -rf "$INITRD_DIR"
mkdir -p "$INITRD_DIR"/{bin,modules,proc,sys,dev,newroot}
cp /bin/busybox "$INITRD_DIR/bin/busybox"
cp "$LANE/guest-init.sh" "$INITRD_DIR/init"
chmod 755 "$INITRD_DIR/init"
for m in "${ORDER[@]}"; do
    cp "${MODS[$m]}" "$INITRD_DIR/modules/$m.ko"
    echo "$m" >>"$INITRD_DIR/modules/order"
done
(cd "$INITRD_DIR" && find . | cpio -o -H newc --quiet) >"$CACHE/initramfs.cpio"

# --- the payload, shared read-only over 9p: ocirun, jq, their libraries, the tests -------
OCIRUN_BIN="${OCIRUN_BIN:-$TARGET/debug/ocirun}"
if [[ ! -x $OCIRUN_BIN ]]; then
    log "building $OCIRUN_BIN"
    (cd "$REPO" && cargo build --bin ocirun) || die "cargo build failed"
fi
PAYLOAD="$CACHE/payload"
rm -rf "$PAYLOAD"
mkdir -p "$PAYLOAD/root/usr/local/bin"
strip -o "$PAYLOAD/root/usr/local/bin/ocirun" "$OCIRUN_BIN"
cp "$(command -v jq)" "$PAYLOAD/root/usr/local/bin/jq"
# The guest has no libc: copy each dynamic library at the path the loader looks for.
for bin in "$OCIRUN_BIN" "$(command -v jq)"; do
    ldd "$bin" | grep -o '/[^ ]*' | while IFS= read -r lib; do
        mkdir -p "$PAYLOAD/root$(dirname "$lib")"
        cp -L "$lib" "$PAYLOAD/root$lib"
    done
done
cp "$LANE/guest-test.sh" "$PAYLOAD/guest-test.sh"

# --- boot ------------------------------------------------------------------------------
OUT="$CACHE/out"
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/guest.log"
log "booting $KVER (TCG, 2 vCPUs, 1 GiB; timeout ${TIMEOUT}s); prep took $((SECONDS - START))s"
boot_start=$SECONDS
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
    -accel tcg -machine pc -cpu max -smp 2 -m 1024 \
    -nodefaults -no-user-config -display none -monitor none -no-reboot \
    -kernel "$VMLINUZ" -initrd "$CACHE/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 cgroup_no_v1=all rdinit=/init quiet" \
    -serial "file:$OUT/console.log" \
    -device virtio-serial-pci \
    -chardev "file,id=out,path=$OUT/guest.log" \
    -device virtserialport,chardev=out,name=ocirun.out \
    -fsdev "local,id=payload,path=$PAYLOAD,security_model=none,readonly=on" \
    -device virtio-9p-pci,fsdev=payload,mount_tag=payload \
    </dev/null >"$OUT/qemu.log" 2>&1 &
qemu_pid=$!
tail -n +1 -f --pid="$qemu_pid" "$OUT/guest.log" &
tail_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
sleep 0.2
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
took=$((SECONDS - boot_start))

summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT/guest.log" | tail -1 || true)"
if [[ -z $summary ]]; then
    log "the guest did not finish (qemu exit $qemu_rc after ${took}s; 124 is the timeout)"
    log "--- qemu ---"
    cat "$OUT/qemu.log" >&2
    log "--- last lines of the guest console ($OUT/console.log) ---"
    tail -n 30 "$OUT/console.log" >&2
    exit 1
fi
failed="${summary#*, }"
failed="${failed%% *}"
log "guest: $summary (boot to power-off ${took}s, whole lane $((SECONDS - START))s)"
[[ $failed -eq 0 ]] || die "$failed guest check(s) failed; see above and $OUT/guest.log"
