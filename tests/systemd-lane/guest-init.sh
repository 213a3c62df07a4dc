#!/bin/busybox sh
# /init of the systemd lane's initramfs (see tests/systemd-lane/run.sh). Runs as PID 1,
# only long enough to hand over to systemd:
#
# 1. Loads the virtio / 9p / virtio-console / overlay modules (the kernel package has
#    them as modules; systemd could not load them itself before it has a root).
# 2. Mounts the host's / (9p tag "hostroot", read-only) as the lower layer of an overlay
#    whose upper layer is a tmpfs: the guest boots the host's own systemd 252, dbus, libc,
#    busybox and jq, and every write stays in guest memory.
# 3. Writes into the overlay what the boot needs: a fresh /etc/machine-id, an empty fstab,
#    the lane's target and service, drop-ins that let dbus start without sysinit.target,
#    and masks (symlinks to /dev/null) for the host's enabled units and its generators.
# 4. Mounts the payload (9p tag "payload": ocirun, guest-test.sh, lane.env) at
#    /ocirun-lane and switch_roots into the overlay with /lib/systemd/systemd as init.
#
# Anything that goes wrong is reported on the virtio-serial port "ocirun.out", which the
# host prints, and the guest powers off (the host then fails the lane: no summary).
B=/bin/busybox
$B --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# shellcheck source=tests/v2-lane/init-lib.sh
. /init-lib.sh
load_modules
find_output_port

give_up() {
    echo "init: $*" >"$out"
    sync
    poweroff -f
}

# cache=loose: the share is read-only and nothing on the host changes it during the run,
# so the guest may cache pages and dentries (systemd reads hundreds of unit files).
NINEP=trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro
mkdir -p /lower /layers
mount -t 9p -o "$NINEP" hostroot /lower || give_up "mounting the host root over 9p failed"
mount -t tmpfs -o mode=0755 tmpfs /layers || give_up "mounting the overlay's tmpfs failed"
mkdir -p /layers/upper /layers/work
mount -t overlay -o lowerdir=/lower,upperdir=/layers/upper,workdir=/layers/work overlay /newroot ||
    give_up "mounting the overlay failed (is the overlay module loaded?)"
[ -x /newroot/lib/systemd/systemd ] || give_up "the host root has no /lib/systemd/systemd"

mkdir -p /newroot/ocirun-lane
mount -t 9p -o "$NINEP" payload /newroot/ocirun-lane || give_up "mounting the payload over 9p failed"

# The host is a docker container: its /.dockerenv would make systemd believe it runs in
# one too, and a containerized systemd ignores the kernel command line (systemd.unit=)
# and skips parts of its setup. The guest is a VM; the file goes (from the overlay only).
rm -f /newroot/.dockerenv /newroot/run/.containerenv

# --- /etc: what systemd reads at boot --------------------------------------------------
E=/newroot/etc
rm -f $E/machine-id
tr -d '-' </proc/sys/kernel/random/uuid >$E/machine-id
echo "# the systemd lane mounts nothing from fstab" >$E/fstab

S=$E/systemd/system
mask() { rm -rf "${S:?}/$1" && ln -s /dev/null "$S/$1"; }
# Whatever the host enabled (postgresql, timers, getty, timesyncd, pstore...) would only
# slow the boot or fail in the guest. The lane's target pulls none of it, and the masks
# make sure nothing reaches it through another dependency.
for wants in "$S"/*.wants "$S"/*.requires; do
    [ -d "$wants" ] || continue
    for unit in "$wants"/*; do
        [ -e "$unit" ] || [ -L "$unit" ] || continue
        case "${unit##*/}" in dbus.*) continue ;; esac
        mask "${unit##*/}"
    done
done
for unit in getty@tty1.service serial-getty@ttyS0.service getty.target \
    systemd-timesyncd.service systemd-networkd.service systemd-resolved.service \
    networking.service ifupdown-pre.service network-online.target \
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
    systemd-journald-audit.socket systemd-journal-flush.service \
    systemd-logind.service systemd-user-sessions.service \
    systemd-firstboot.service systemd-machine-id-commit.service systemd-random-seed.service \
    systemd-binfmt.service systemd-modules-load.service systemd-sysusers.service \
    systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer \
    systemd-update-utmp.service systemd-pstore.service systemd-repart.service \
    systemd-pcrphase.service systemd-pcrphase-sysinit.service \
    proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount \
    postgresql.service cron.service ssh.service rsyslog.service; do
    mask "$unit"
done
# Generators run at every boot and before any unit: none is needed (no fstab, no getty,
# no sysv scripts), and under software emulation each costs time.
mkdir -p $E/systemd/system-generators
for g in /newroot/lib/systemd/system-generators/*; do
    [ -e "$g" ] && ln -sf /dev/null "$E/systemd/system-generators/${g##*/}"
done

# dbus: ocirun's driver may talk to systemd over the system bus (as runc does), so the
# bus runs. Its units normally wait for sysinit.target; the lane has none of it.
mkdir -p "$S/dbus.socket.d" "$S/dbus.service.d"
printf '[Unit]\nDefaultDependencies=no\n' >"$S/dbus.socket.d/lane.conf"
printf '[Unit]\nDefaultDependencies=no\n[Service]\nStandardOutput=null\n' >"$S/dbus.service.d/lane.conf"

# The lane's units. The target is the boot's only goal (systemd.unit= on the kernel
# command line); the service runs the checks with its output on the port and powers the
# guest off when it ends (guest-test.sh does that itself; FailureAction is the backstop
# for a script that dies first).
cat >"$S/ocirun-systemd-lane.target" <<EOF
[Unit]
Description=ocirun systemd lane
Wants=ocirun-systemd-lane.service
AllowIsolate=yes
EOF
cat >"$S/ocirun-systemd-lane.service" <<EOF
[Unit]
Description=ocirun systemd lane checks (tests/systemd-lane/guest-test.sh)
DefaultDependencies=no
Wants=dbus.socket dbus.service
After=dbus.socket dbus.service
FailureAction=poweroff-force

[Service]
Type=oneshot
EnvironmentFile=/ocirun-lane/lane.env
ExecStart=/bin/sh /ocirun-lane/guest-test.sh
StandardInput=null
StandardOutput=file:$out
StandardError=inherit
TimeoutStartSec=infinity
EOF

# The systemd that boots is the host's, from the overlay; the API filesystems it mounts
# itself (they are not mounted there yet, so it does).
read -r uptime _ </proc/uptime
echo "init: the overlay is ready, starting systemd $uptime s after the kernel" >/dev/console
umount /proc /sys /dev 2>/dev/null
# shellcheck disable=SC2093 # exec returns only when switch_root could not start
exec switch_root /newroot /lib/systemd/systemd
give_up "switch_root to systemd failed"
