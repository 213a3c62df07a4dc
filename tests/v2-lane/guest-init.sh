#!/bin/busybox sh
# /init of the v2 lane's initramfs (see tests/v2-lane/run.sh). Runs as PID 1.
#
# Stage 1, on the initramfs: copy everything into a tmpfs and switch_root to it, because
# pivot_root (which every container's setup does) fails when / is the initramfs.
# Stage 2, on the tmpfs: mount the usual filesystems and cgroup2 (the kernel was booted
# with cgroup_no_v1=all), enable every controller in the root's subtree_control, load the
# virtio / 9p / virtio-console modules, mount the host's payload over 9p, run its
# guest-test.sh with the output on the virtio-serial port "ocirun.out", and power off.
B=/bin/busybox
if [ ! -e /.stage2 ]; then
    $B mount -t tmpfs -o mode=0755 tmpfs /newroot
    for d in bin modules init init-lib.sh; do $B cp -a /$d /newroot/; done
    $B mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
    $B touch /newroot/.stage2
    exec $B switch_root /newroot /init
    echo "init: switch_root failed" >&2
    $B poweroff -f
fi

$B --install -s /bin
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /sbin /usr/bin /usr/sbin /usr/local/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "init: cannot enable $c" >&2
done
# shellcheck source=tests/v2-lane/init-lib.sh
. /init-lib.sh
load_modules
find_output_port

mkdir -p /payload
if mount -t 9p -o trans=virtio,version=9p2000.L,ro payload /payload; then
    cp -a /payload/root/. /
    sh /payload/guest-test.sh >"$out" 2>&1
else
    echo "init: mounting the payload over 9p failed" >"$out"
fi
sync
poweroff -f
