#!/usr/bin/env bash
# The systemd lane: boots a qemu guest (software emulation, no KVM needed) whose PID 1 is
# real systemd on a pure cgroup v2 hierarchy, and runs tests/systemd-lane/guest-test.sh
# there as a systemd service against the host-built ocirun: first the preconditions (the
# guest's systemd makes scopes over D-Bus), then ocirun's `--systemd-cgroup` driver. See
# docs/cgroups.md ("The systemd lane"). scripts/test.sh (so CI) runs it after the v2 lane.
#
#   bash tests/systemd-lane/run.sh                # as root; every group, in two boots
#   bash tests/systemd-lane/run.sh preconditions  # only the lane's own preconditions
#   bash tests/systemd-lane/run.sh selinux        # only the SELinux boot
#
# Two boots: the first (groups preconditions, driver, apparmor) with Debian's default
# LSMs, AppArmor active; the second (group selinux) with SELinux active instead (the two
# cannot be active together) and the lane's own tiny policy, tests/systemd-lane/selinux.cil,
# compiled here by secilc (Debian package secilc) and loaded by the guest.
#
# The guest boots the Debian bookworm kernel of the v2 lane (same cache, same download:
# tests/v2-lane/lib.sh) and, as its root filesystem, the host's own / shared read-only
# over 9p under a tmpfs overlay: systemd, dbus, libc, busybox and jq are the host's. The
# initramfs (guest-init.sh) prepares the overlay and switch_roots into /lib/systemd/systemd
# with systemd.unit=ocirun-systemd-lane.target, so only the lane's service and dbus start.
#
# Environment:
#   OCIRUN_BIN=path                  the ocirun binary to test (default:
#                                    ${CARGO_TARGET_DIR:-target}/debug/ocirun, built if missing)
#   OCIRUN_SYSTEMD_LANE_GROUPS=g     as the argument: "preconditions", "driver",
#                                    "apparmor", "selinux", or "all" (the default)
#   OCIRUN_SYSTEMD_LANE_DIR=dir      this lane's work directory: initramfs, payload, out/
#                                    (default: ${CARGO_TARGET_DIR:-target}/systemd-lane)
#   OCIRUN_V2_LANE_CACHE=dir         where the kernel is cached (default:
#                                    ${CARGO_TARGET_DIR:-target}/v2-lane; only its kernel/
#                                    is used, and written only if missing)
#   OCIRUN_V2_LANE_KERNEL=pkg        kernel package (default: what linux-image-amd64 depends on)
#   OCIRUN_SYSTEMD_LANE_TIMEOUT=secs hard timeout of the guest (default 300)
#
# Exit status: 0 when every check of the chosen groups passed; 77 when the lane cannot run
# on this machine (not amd64, qemu cannot start, no systemd or dbus-daemon on the host),
# with the reason printed; 1 otherwise (a failed check, a guest that did not finish, a
# kernel that cannot be downloaded).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LANE="$REPO/tests/systemd-lane"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
KERNEL_CACHE="${OCIRUN_V2_LANE_CACHE:-$TARGET/v2-lane}"
WORK="${OCIRUN_SYSTEMD_LANE_DIR:-$TARGET/systemd-lane}"
TIMEOUT="${OCIRUN_SYSTEMD_LANE_TIMEOUT:-300}"
START=$SECONDS

LANE_NAME=systemd-lane
# shellcheck source=tests/v2-lane/lib.sh
source "$REPO/tests/v2-lane/lib.sh"

groups_asked="${1:-${OCIRUN_SYSTEMD_LANE_GROUPS:-all}}"
# The groups of each boot: the preconditions run before driver and apparmor (they check
# what those rely on); the SELinux boot runs only its own group, which checks its own.
BOOT_APPARMOR=""
BOOT_SELINUX=""
BOOT_HYBRID=""
case "$groups_asked" in
all)
    BOOT_APPARMOR="preconditions driver apparmor"
    BOOT_SELINUX="selinux"
    BOOT_HYBRID="hybrid"
    ;;
preconditions) BOOT_APPARMOR="preconditions" ;;
driver | apparmor) BOOT_APPARMOR="preconditions $groups_asked" ;;
selinux) BOOT_SELINUX="selinux" ;;
hybrid) BOOT_HYBRID="hybrid" ;;
*) die "unknown group '$groups_asked': all, preconditions, driver, apparmor, selinux or hybrid" ;;
esac

lane_check_host
# The guest boots the host's systemd and dbus (from the read-only 9p share of /).
[[ -x /lib/systemd/systemd ]] || skip "the host has no /lib/systemd/systemd (Debian package systemd) for the guest to boot"
[[ -x /usr/bin/dbus-daemon ]] || skip "the host has no /usr/bin/dbus-daemon (Debian package dbus-daemon) for the guest's system bus"
case "$REPO" in *[[:space:]]*) die "the repository path has white space: $REPO" ;; esac

# --- the kernel: the v2 lane's ---------------------------------------------------------
lane_fetch_kernel "$KERNEL_CACHE"

# --- the initramfs: busybox, /init, the modules for virtio, 9p, the port and overlay -----
mkdir -p "$WORK"
LANE_INITRD="$WORK/initramfs.cpio"
lane_build_initramfs "$LANE/guest-init.sh" "$WORK/initramfs" "$LANE_INITRD" \
    virtio_pci virtio_console 9pnet_virtio 9p overlay

# --- the payload, a second read-only 9p share: ocirun, the checks, their settings -------
# (The host root share has them too, but a stripped copy is quicker to read over 9p under
# emulation, and OCIRUN_BIN may be anywhere.)
OCIRUN_BIN="$(lane_ocirun_bin)"
PAYLOAD="$WORK/payload"
rm -rf "$PAYLOAD"
mkdir -p "$PAYLOAD"
strip -o "$PAYLOAD/ocirun" "$OCIRUN_BIN"
cp "$LANE/guest-test.sh" "$PAYLOAD/guest-test.sh"
cp "$REPO/tests/v2-lane/guest-lib.sh" "$PAYLOAD/guest-lib.sh"
# The SELinux policy, compiled here (the guest would take far longer under emulation).
# Without secilc the guest's first selinux check fails and says why.
if [[ -n $BOOT_SELINUX ]]; then
    if command -v secilc >/dev/null 2>&1; then
        secilc --output="$PAYLOAD/selinux.policy" --filecontext=/dev/null "$LANE/selinux.cil" ||
            die "secilc could not compile $LANE/selinux.cil"
    else
        log "no secilc on this host (Debian package secilc): the SELinux boot will fail its first check"
    fi
fi

# --- boot ------------------------------------------------------------------------------
# systemd.unit: the boot's only goal is the lane's target (its service and dbus), not
# the host's default.target. show_status=0: no per-unit status lines on the console.
APPEND="console=ttyS0 panic=-1 rdinit=/init quiet"
APPEND+=" systemd.unit=ocirun-systemd-lane.target systemd.show_status=0"
V2_APPEND="cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
# systemd's hybrid layout, as on this project's own host: v1 controllers under
# /sys/fs/cgroup/<controller>, cgroup2 at /sys/fs/cgroup/unified.
HYBRID_APPEND="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0"
# SELinux as the major LSM instead of AppArmor (Debian's CONFIG_LSM without apparmor),
# permissive: systemd boots with no policy (it finds none under /etc/selinux and goes on
# when not enforcing) and the checks load the lane's.
SELINUX_APPEND="lsm=landlock,lockdown,yama,integrity,selinux,bpf selinux=1 enforcing=0"
FAILED_TOTAL=0

# boot NAME GROUPS EXTRA-APPEND: one guest running GROUPS; its report in $WORK/NAME.
boot() {
    local name="$1" groups="$2" extra="$3"
    local out="$WORK/$name"
    printf 'OCIRUN_LANE_GROUPS="%s"\n' "$groups" >"$PAYLOAD/lane.env"
    log "booting $KVER with systemd (TCG, 2 vCPUs, 1 GiB; timeout ${TIMEOUT}s); groups: $groups; so far $((SECONDS - START))s"
    # security_model=passthrough with readonly=on: the guest sees the host's owners and
    # modes as they are and can change nothing. multidevs=remap: / spans several host
    # filesystems, whose inode numbers would otherwise collide in the guest.
    lane_boot "$out" "$TIMEOUT" "$APPEND${extra:+ $extra}" \
        -fsdev "local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap" \
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
        -fsdev "local,id=payload,path=$PAYLOAD,security_model=none,readonly=on" \
        -device virtio-9p-pci,fsdev=payload,mount_tag=payload

    lane_guest_summary "$out"
    local started
    started="$(sed -n 's/^guest: the checks start \([0-9.]*\) s after the kernel.*/\1/p' "$out/guest.log" | head -1)"
    log "guest ($name): $LANE_SUMMARY (boot to the first check ${started:-?}s, boot to power-off ${LANE_BOOT_SECONDS}s)"
    local group line
    for group in $groups; do
        line="$(grep -E "^$group: [0-9]+ passed, [0-9]+ failed$" "$out/guest.log" | tail -1 || true)"
        log "  ${line:-$group: no summary}"
    done
    [[ $LANE_FAILED -eq 0 ]] || log "$LANE_FAILED guest check(s) failed in the $name boot; see above and $out/guest.log"
    FAILED_TOTAL=$((FAILED_TOTAL + LANE_FAILED))
}

[[ -z $BOOT_APPARMOR ]] || boot out "$BOOT_APPARMOR" "$V2_APPEND"
[[ -z $BOOT_SELINUX ]] || boot out-selinux "$BOOT_SELINUX" "$V2_APPEND $SELINUX_APPEND"
[[ -z $BOOT_HYBRID ]] || boot out-hybrid "$BOOT_HYBRID" "$HYBRID_APPEND"
log "whole lane $((SECONDS - START))s"
[[ $FAILED_TOTAL -eq 0 ]] || die "$FAILED_TOTAL guest check(s) failed"
