# shellcheck shell=sh
# Shell helpers shared by both lanes' initramfs /init scripts (tests/v2-lane/guest-init.sh
# and tests/systemd-lane/guest-init.sh), put at /init-lib.sh by lane_build_initramfs.

# load_modules: the modules of /modules/order, in that order (dependencies first).
load_modules() {
    while read -r m; do
        insmod "/modules/$m.ko" || echo "init: insmod $m failed" >&2
    done </modules/order
}

# find_output_port: sets `out` to the virtio-serial port "ocirun.out" (the host's report
# file), waiting up to 5 s for it to appear, or to /dev/console.
find_output_port() {
    out=
    for _ in $(seq 1 100); do
        for p in /sys/class/virtio-ports/*; do
            [ "$(cat "$p/name" 2>/dev/null)" = ocirun.out ] && [ -c "/dev/${p##*/}" ] && out="/dev/${p##*/}"
        done
        [ -n "$out" ] && break
        sleep 0.05
    done
    [ -n "$out" ] || { echo "init: no virtio port ocirun.out" >&2; out=/dev/console; }
}
