#!/usr/bin/env bash
# The pure cgroup v2 lane: boots a small qemu guest (software emulation, no KVM needed)
# with a Debian bookworm kernel, cgroup_no_v1=all and every cgroup2 controller enabled,
# and runs tests/v2-lane/guest-test.sh there against the host-built ocirun. See
# docs/cgroups.md ("The pure-v2 lane"). What it shares with tests/systemd-lane/ is in lib.sh.
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

LANE_NAME=v2-lane
# shellcheck source=tests/v2-lane/lib.sh
source "$LANE/lib.sh"

lane_check_host

# --- the kernel: a Debian package, unpacked (never installed) ----------------------------
lane_fetch_kernel "$CACHE"

# --- the initramfs: busybox, /init, and the modules for virtio, 9p, the output port and
# the scratch disk (/dev/vda, for io.max) ---------------------------------------------------
LANE_INITRD="$CACHE/initramfs.cpio"
lane_build_initramfs "$LANE/guest-init.sh" "$CACHE/initramfs" "$LANE_INITRD" \
    virtio_pci virtio_console 9pnet_virtio 9p virtio_blk
DISK="$CACHE/scratch-disk.img"
rm -f "$DISK"
truncate -s 64M "$DISK"

# --- the payload, shared read-only over 9p: ocirun, jq, their libraries, the tests -------
OCIRUN_BIN="$(lane_ocirun_bin)"
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
cp "$REPO/tests/v2-lane/guest-lib.sh" "$PAYLOAD/guest-lib.sh"

# --- boot ------------------------------------------------------------------------------
OUT="$CACHE/out"
log "booting $KVER (TCG, 2 vCPUs, 1 GiB; timeout ${TIMEOUT}s); prep took $((SECONDS - START))s"
lane_boot "$OUT" "$TIMEOUT" "console=ttyS0 panic=-1 cgroup_no_v1=all rdinit=/init quiet" \
    -fsdev "local,id=payload,path=$PAYLOAD,security_model=none,readonly=on" \
    -device virtio-9p-pci,fsdev=payload,mount_tag=payload \
    -drive "file=$DISK,if=virtio,format=raw,cache=unsafe"
rm -f "$DISK"

lane_guest_summary "$OUT"
log "guest: $LANE_SUMMARY (boot to power-off ${LANE_BOOT_SECONDS}s, whole lane $((SECONDS - START))s)"
[[ $LANE_FAILED -eq 0 ]] || die "$LANE_FAILED guest check(s) failed; see above and $OUT/guest.log"
