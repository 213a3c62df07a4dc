# shellcheck shell=sh
# ocirun's pure cgroup v2 checks, run by busybox sh inside the v2 lane's guest (see
# tests/v2-lane/run.sh): the guest's kernel has no v1 hierarchies (cgroup_no_v1=all),
# cgroup2 is mounted at /sys/fs/cgroup and its root delegates every controller.
#
# Each check prints `PASS name` or `FAIL name: why`; the last line is
# `N passed, M failed`. The host's run.sh fails the lane unless M is 0.

CG=/sys/fs/cgroup
ROOT=/run/ocirun-lane
WORK=/tmp/lane
ROOTFS=$WORK/rootfs
PASSED=0
FAILED=0
STARTED=$(date +%s)

pass() {
    echo "PASS $1"
    PASSED=$((PASSED + 1))
}
fail() {
    echo "FAIL $1: $2"
    FAILED=$((FAILED + 1))
}
# check NAME GOT WANT: PASS when equal.
check() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# Every ocirun command gets a hard timeout, so a hang fails a check, not the lane.
oci() { timeout 30 ocirun --root "$ROOT" "$@"; }

# A cgroup file of container $1, trimmed, or "<missing FILE>".
cgfile() {
    if [ -e "$CG/$1/$2" ]; then tr '\n' ' ' <"$CG/$1/$2" | sed 's/ *$//'; else echo "<missing $2>"; fi
}

# bundle ID ARGS-JSON [JQ-FILTER]: /tmp/lane/ID with the shared read-only busybox rootfs,
# `ocirun spec`'s config, args and terminal off, then the filter.
bundle() {
    B=$WORK/$1
    rm -rf "$B"
    mkdir -p "$B"
    ocirun spec --bundle "$B" || return 1
    jq --argjson args "$2" --arg rootfs "$ROOTFS" \
        ".process.terminal = false | .process.args = \$args | .root.path = \$rootfs | ${3:-.}" \
        "$B/config.json" >"$B/config.tmp" && mv "$B/config.tmp" "$B/config.json"
}

# run_fg ID: `run` in the foreground; output in $B/out and $B/err, exit code in RC.
run_fg() {
    B=$WORK/$1
    oci run --bundle "$B" "$1" >"$B/out" 2>"$B/err" </dev/null
    RC=$?
}

# run_bg ID: `run -d`; fails the check named $2 (default: ID) and returns 1 on error.
run_bg() {
    B=$WORK/$1
    if ! oci run -d --bundle "$B" "$1" >"$B/out" 2>"$B/err" </dev/null; then
        fail "${2:-$1}" "run -d failed: $(cat "$B/err")"
        return 1
    fi
}

# status_of, pid_of, wait_for
# shellcheck source=tests/v2-lane/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

# gone ID: delete --force, then the cgroup directory must be gone.
gone() {
    oci delete --force "$1" >/dev/null 2>&1
    if [ -d "$CG/$1" ]; then
        fail "$1: delete removes the cgroup" "$CG/$1 still exists"
    fi
}

one_line() { [ "$(wc -l <"$1")" -le 1 ]; }

# ----------------------------------------------------------------------------------------
echo "guest: $(uname -r), controllers: $(cat $CG/cgroup.subtree_control), $(nproc) cpus"
mkdir -p "$WORK" "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev" "$ROOTFS/tmp" "$ROOTFS/etc"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ROOTFS/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOTFS/etc/passwd"
BEFORE=$(ls "$CG" | grep -v '\.' | sort | tr '\n' ' ')

# --- memory: limits read back, from the host and inside --------------------------------
MEM='.linux.resources.memory = {"limit": 67108864, "reservation": 16777216, "swap": 134217728}'
if bundle mem '["sleep", "100"]' "$MEM" && run_bg mem "memory.max read back"; then
    check "memory.max read back" "$(cgfile mem memory.max)" 67108864
    check "memory.low from reservation" "$(cgfile mem memory.low)" 16777216
    check "memory.swap.max is swap minus limit" "$(cgfile mem memory.swap.max)" 67108864
    gone mem
fi
bundle mem-in '["cat", "/sys/fs/cgroup/memory.max", "/proc/self/cgroup"]' "$MEM"
run_fg mem-in
check "memory.max inside the container" "$RC $(tr '\n' ' ' <"$WORK/mem-in/out")" "0 67108864 0::/mem-in "
gone mem-in

# --- OOM kill ---------------------------------------------------------------------------
OOM='.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
bundle oom '["tail", "/dev/zero"]' "$OOM"
run_fg oom
check "oom kill: run exits 137" "$RC" 137
gone oom
if bundle oom-events '["tail", "/dev/zero"]' "$OOM" && run_bg oom-events "oom kill counted in memory.events"; then
    if wait_for oom-events stopped; then
        kills=$(sed -n 's/^oom_kill //p' "$CG/oom-events/memory.events")
        if [ "${kills:-0}" -ge 1 ]; then pass "oom kill counted in memory.events"; else
            fail "oom kill counted in memory.events" "$(cat "$CG/oom-events/memory.events" | tr '\n' ' ')"
        fi
    else
        fail "oom kill counted in memory.events" "the hog still runs under a 32M limit"
    fi
    gone oom-events
fi

# --- pids -------------------------------------------------------------------------------
bundle pids '["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 60 & done; echo forked; sleep 60"]' \
    '.linux.resources.pids = {"limit": 4}'
if run_bg pids "pids.max refuses forks"; then
    i=0
    while [ $i -lt 50 ] && ! grep -q forked "$WORK/pids/out"; do sleep 0.1; i=$((i + 1)); done
    check "pids.max read back" "$(cgfile pids pids.max)" 4
    current=$(cgfile pids pids.current)
    refused=$(sed -n 's/^max //p' "$CG/pids/pids.events")
    if [ "$current" -le 4 ] && [ "${refused:-0}" -ge 1 ] && grep -q -e fork -e "Resource temporarily" "$WORK/pids/out" "$WORK/pids/err"; then
        pass "pids.max refuses forks"
    else
        fail "pids.max refuses forks" "pids.current $current, pids.events max ${refused:-?}, stderr: $(head -c 200 "$WORK/pids/err")"
    fi
    gone pids
fi

# --- cpu: weight from shares, max from quota/period, burst, idle, throttling --------------
bundle cpu '["sleep", "100"]' \
    '.linux.resources.cpu = {"shares": 512, "quota": 25000, "period": 100000, "burst": 1000}'
if run_bg cpu "cpu.max from quota and period"; then
    # runc's conversion: 1 + (shares - 2) * 9999 / 262142
    check "cpu.weight from shares" "$(cgfile cpu cpu.weight)" $((1 + (512 - 2) * 9999 / 262142))
    check "cpu.max from quota and period" "$(cgfile cpu cpu.max)" "25000 100000"
    check "cpu.max.burst from burst" "$(cgfile cpu cpu.max.burst)" 1000
    gone cpu
fi
bundle cpu-period '["sleep", "100"]' '.linux.resources.cpu = {"period": 50000}'
if run_bg cpu-period "cpu.max with a period alone"; then
    check "cpu.max with a period alone" "$(cgfile cpu-period cpu.max)" "max 50000"
    gone cpu-period
fi
bundle spin '["sh", "-c", "while :; do :; done"]' '.linux.resources.cpu = {"quota": 10000, "period": 100000}'
if run_bg spin "cpu quota throttles"; then
    sleep 2
    throttled=$(sed -n 's/^nr_throttled //p' "$CG/spin/cpu.stat")
    if [ "${throttled:-0}" -ge 1 ]; then pass "cpu quota throttles"; else
        fail "cpu quota throttles" "cpu.stat: $(tr '\n' ' ' <"$CG/spin/cpu.stat")"
    fi
    gone spin
fi
bundle idle '["sleep", "100"]' '.linux.resources.cpu = {"idle": 1}'
if run_bg idle "cpu.idle"; then
    check "cpu.idle" "$(cgfile idle cpu.idle)" 1
    gone idle
fi

# --- cpuset -----------------------------------------------------------------------------
last_cpu=$(($(nproc) - 1))
bundle cpuset '["sh", "-c", "grep Cpus_allowed_list /proc/self/status; cat /sys/fs/cgroup/cpuset.cpus"]' \
    ".linux.resources.cpu = {\"cpus\": \"$last_cpu\", \"mems\": \"0\"}"
run_fg cpuset
check "cpuset.cpus confines the container" "$RC $(tr -s '\t\n' '  ' <"$WORK/cpuset/out")" \
    "0 Cpus_allowed_list: $last_cpu $last_cpu "
gone cpuset
bundle cpuset-host '["sleep", "100"]' ".linux.resources.cpu = {\"cpus\": \"$last_cpu\", \"mems\": \"0\"}"
if run_bg cpuset-host "cpuset.cpus and cpuset.mems read back"; then
    check "cpuset.cpus and cpuset.mems read back" \
        "$(cgfile cpuset-host cpuset.cpus) $(cgfile cpuset-host cpuset.mems)" "$last_cpu 0"
    gone cpuset-host
fi

# --- io ---------------------------------------------------------------------------------
bundle io '["sleep", "100"]' '.linux.resources.blockIO = {"weight": 300}'
if run_bg io "io weight"; then
    if [ -e "$CG/io/io.bfq.weight" ]; then
        check "io weight (io.bfq.weight)" "$(cgfile io io.bfq.weight)" "default 300"
    elif [ -e "$CG/io/io.weight" ]; then
        # runc's conversion: 1 + (weight - 10) * 9999 / 990
        check "io weight (io.weight)" "$(cgfile io io.weight)" "default $((1 + (300 - 10) * 9999 / 990))"
    else
        echo "SKIP io weight: this kernel's io controller has neither io.weight nor io.bfq.weight"
    fi
    gone io
fi

# --- io.max: throttles on the scratch disk ---------------------------------------------
# A 64 MiB virtio disk (/dev/vda, empty). Reading 2 MiB with O_DIRECT at 1 MiB/s takes
# about 2 s; unthrottled, a small fraction of that.
if [ -e /sys/block/vda/dev ]; then
    IFS=: read -r vda_major vda_minor </sys/block/vda/dev
    [ -e /dev/vda ] || mknod /dev/vda b "$vda_major" "$vda_minor"
    device_only=".linux.devices = [{\"path\": \"/dev/vda\", \"type\": \"b\", \"major\": $vda_major, \"minor\": $vda_minor}]
        | .linux.resources.devices += [{\"allow\": true, \"type\": \"b\", \"major\": $vda_major, \"minor\": $vda_minor, \"access\": \"r\"}]"
    throttle="$device_only | .linux.resources.blockIO = {\"throttleReadBpsDevice\": [{\"major\": $vda_major, \"minor\": $vda_minor, \"rate\": 1048576}], \"throttleWriteIOPSDevice\": [{\"major\": $vda_major, \"minor\": $vda_minor, \"rate\": 100}]}"
    # Times in hundredths of a second, from /proc/uptime.
    read_2m='["sh", "-c", "s=$(cut -d\" \" -f1 /proc/uptime | tr -d .); dd if=/dev/vda of=/dev/null bs=64k count=32 iflag=direct 2>/dev/null; e=$(cut -d\" \" -f1 /proc/uptime | tr -d .); echo took=$((e - s))"]'
    bundle iofree "$read_2m" "$device_only"
    run_fg iofree
    free=$(sed -n 's/^took=//p' "$WORK/iofree/out")
    bundle iomax "$read_2m" "$throttle"
    run_fg iomax
    took=$(sed -n 's/^took=//p' "$WORK/iomax/out")
    if [ "$RC" = 0 ] && [ -n "$took" ] && [ -n "$free" ] && [ "$took" -ge 150 ] && [ "$free" -lt 100 ]; then
        pass "io.max: 2 MiB read at 1 MiB/s took ${took}0 ms (${free}0 ms unthrottled)"
    else
        fail "io.max: a throttled read is slowed" "exit $RC, took '${took}'0 ms, unthrottled '${free}'0 ms: $(cat "$WORK/iomax/out" "$WORK/iomax/err" "$WORK/iofree/err")"
    fi
    bundle iomax-file '["sleep", "100"]' "$throttle"
    if run_bg iomax-file "io.max"; then
        check "io.max (throttleReadBpsDevice, throttleWriteIOPSDevice)" "$(cgfile iomax-file io.max)" \
            "$vda_major:$vda_minor rbps=1048576 wbps=max riops=max wiops=100"
        gone iomax-file
    fi
else
    fail "io.max" "the guest has no /dev/vda (virtio_blk not loaded?)"
fi

# --- hugetlb, unified -------------------------------------------------------------------
bundle huge '["sleep", "100"]' '.linux.resources.hugepageLimits = [{"pageSize": "2MB", "limit": 4194304}]'
if run_bg huge "hugetlb.2MB.max"; then
    check "hugetlb.2MB.max" "$(cgfile huge hugetlb.2MB.max)" 4194304
    gone huge
fi
bundle unified '["sleep", "100"]' '.linux.resources.unified = {"memory.high": "52428800", "pids.max": "7"}'
if run_bg unified "unified key/values"; then
    check "unified key/values" "$(cgfile unified memory.high) $(cgfile unified pids.max)" "52428800 7"
    gone unified
fi

# --- update -----------------------------------------------------------------------------
bundle upd '["sleep", "100"]' \
    '.linux.resources.memory = {"limit": 33554432} | .linux.resources.pids = {"limit": 10} | .linux.resources.cpu = {"quota": 30000}'
if run_bg upd "update"; then
    if oci update --memory 48m --pids-limit 12 --cpu-quota 40000 --cpu-share 300 upd 2>"$WORK/upd/err"; then
        check "update changes memory.max" "$(cgfile upd memory.max)" 50331648
        check "update changes pids.max" "$(cgfile upd pids.max)" 12
        check "update changes cpu.max" "$(cgfile upd cpu.max)" "40000 100000"
        check "update changes cpu.weight" "$(cgfile upd cpu.weight)" $((1 + (300 - 2) * 9999 / 262142))
    else
        fail "update" "$(cat "$WORK/upd/err")"
    fi
    if echo '{"memory": {"limit": -1}, "pids": {"limit": -1}}' | oci update --resources - upd 2>"$WORK/upd/err"; then
        check "update --resources - sets max" "$(cgfile upd memory.max) $(cgfile upd pids.max)" "max max"
    else
        fail "update --resources - sets max" "$(cat "$WORK/upd/err")"
    fi
    gone upd
fi

# --- pause / resume through cgroup.freeze -------------------------------------------------
bundle frz '["sh", "-c", "sleep 100 & sleep 100"]'
if run_bg frz "pause"; then
    if oci pause frz 2>"$WORK/frz/err"; then
        check "pause: state says paused" "$(status_of frz)" paused
        check "pause: list says paused" "$(oci list --format json | jq -r '.[] | select(.id == "frz") | .status')" paused
        check "pause: cgroup.freeze 1, cgroup.events frozen 1" \
            "$(cgfile frz cgroup.freeze) $(grep frozen "$CG/frz/cgroup.events")" "1 frozen 1"
    else
        fail "pause" "$(cat "$WORK/frz/err")"
    fi
    if oci resume frz 2>"$WORK/frz/err"; then
        check "resume: state says running, frozen 0" \
            "$(status_of frz) $(cgfile frz cgroup.freeze) $(grep frozen "$CG/frz/cgroup.events")" "running 0 frozen 0"
    else
        fail "resume" "$(cat "$WORK/frz/err")"
    fi
    oci pause frz 2>/dev/null
    oci kill frz KILL 2>"$WORK/frz/err"
    if wait_for frz stopped; then pass "kill -9 of a paused container"; else
        fail "kill -9 of a paused container" "status $(status_of frz); $(cat "$WORK/frz/err")"
    fi
    gone frz
fi
bundle frz-del '["sleep", "100"]'
if run_bg frz-del "delete --force of a paused container"; then
    oci pause frz-del 2>/dev/null
    if oci delete --force frz-del 2>"$WORK/frz-del/err" && [ ! -d "$CG/frz-del" ]; then
        pass "delete --force of a paused container"
    else
        fail "delete --force of a paused container" "$(cat "$WORK/frz-del/err")"
    fi
fi

# --- kill --all, ps ---------------------------------------------------------------------
# Without a pid namespace the init's death does not take its children along: only
# --all reaches them.
bundle killall '["sh", "-c", "sleep 100 & sleep 100 & sleep 100"]' \
    '.linux.namespaces |= map(select(.type != "pid"))'
if run_bg killall "kill --all"; then
    sleep 0.3
    pids=$(oci ps --format json killall | jq -r 'length')
    check "ps lists the cgroup's processes" "$pids" 3
    oci kill --all killall KILL 2>"$WORK/killall/err"
    i=0
    while [ $i -lt 50 ] && [ -n "$(cat "$CG/killall/cgroup.procs" 2>/dev/null)" ]; do sleep 0.1; i=$((i + 1)); done
    if [ -z "$(cat "$CG/killall/cgroup.procs")" ] && wait_for killall stopped; then pass "kill --all"; else
        fail "kill --all" "left: $(tr '\n' ' ' <"$CG/killall/cgroup.procs") $(cat "$WORK/killall/err")"
    fi
    gone killall
fi

# --- placement: CLONE_INTO_CGROUP, nested paths, delete -----------------------------------
bundle place '["true"]' '.linux.cgroupsPath = "/lane/nested/place"'
if oci create --bundle "$WORK/place" place >/dev/null 2>"$WORK/place/err" </dev/null; then
    pid=$(pid_of place)
    # Before start the init waits in ocirun's code: it was born in the cgroup.
    check "the created init is in its cgroup (CLONE_INTO_CGROUP)" "$(cat /proc/"$pid"/cgroup)" "0::/lane/nested/place"
    check "nested cgroupsPath gets the controllers" "$(cgfile lane/nested/place cgroup.controllers)" \
        "$(cat $CG/cgroup.subtree_control)"
    oci delete --force place 2>/dev/null
    if [ -d "$CG/lane" ]; then fail "delete removes the cgroup and its created parents" "$CG/lane remains"; else
        pass "delete removes the cgroup and its created parents"
    fi
else
    fail "the created init is in its cgroup (CLONE_INTO_CGROUP)" "create: $(cat "$WORK/place/err")"
fi
mkdir -p "$CG/keep"
bundle keep '["true"]' '.linux.cgroupsPath = "/keep/child"'
run_fg keep
oci delete --force keep 2>/dev/null
if [ -d "$CG/keep" ] && [ ! -d "$CG/keep/child" ]; then pass "delete keeps a parent it did not create"; else
    fail "delete keeps a parent it did not create" "rc $RC, $(cat "$WORK/keep/err")"
fi
rmdir "$CG/keep/child" "$CG/keep" 2>/dev/null

# --- cgroup namespace -------------------------------------------------------------------
# The last command of `sh -c` is exec'd: grep is the container's pid 1 when it reads.
bundle cgns '["sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max; grep -cx 1 /sys/fs/cgroup/cgroup.procs"]' \
    '.linux.namespaces += [{"type": "cgroup"}] | .linux.resources.pids = {"limit": 9}'
run_fg cgns
check "cgroup namespace: /proc/self/cgroup is 0::/ and the mount is the container's" \
    "$RC $(tr -s ' \n' '  ' <"$WORK/cgns/out")" "0 0::/ 9 1 "
gone cgns

# --- exec joins the container's cgroup (and its cgroup namespace) ------------------------
bundle ex '["sleep", "100"]' '.linux.resources.pids = {"limit": 20}'
if run_bg ex "exec joins the cgroup"; then
    check "exec joins the cgroup" "$(oci exec ex cat /proc/self/cgroup 2>&1)" "0::/ex"
    gone ex
fi
bundle ex-ns '["sleep", "100"]' '.linux.namespaces += [{"type": "cgroup"}]'
if run_bg ex-ns "exec joins the cgroup namespace"; then
    check "exec joins the cgroup namespace" "$(oci exec ex-ns cat /proc/self/cgroup 2>&1)" "0::/"
    gone ex-ns
fi

# --- the live freezer, frozen by hand ----------------------------------------------------
bundle hand '["sleep", "100"]'
if run_bg hand "state reads a cgroup frozen by hand as paused"; then
    echo 1 >"$CG/hand/cgroup.freeze"
    i=0
    while [ $i -lt 50 ] && ! grep -q "frozen 1" "$CG/hand/cgroup.events"; do sleep 0.1; i=$((i + 1)); done
    check "state reads a cgroup frozen by hand as paused" "$(status_of hand)" paused
    oci resume hand 2>/dev/null
    check "resume thaws a cgroup frozen by hand" "$(status_of hand) $(cgfile hand cgroup.freeze)" "running 0"
    gone hand
fi

# --- delete of a stopped container whose cgroup still has processes ----------------------
# Without a pid namespace the init can exit and leave a child in the cgroup.
bundle orphan '["sh", "-c", "sleep 100 & exit 0"]' '.linux.namespaces |= map(select(.type != "pid"))'
if run_bg orphan "delete of a stopped container empties its cgroup"; then
    if wait_for orphan stopped; then
        left=$(cat "$CG/orphan/cgroup.procs" | wc -l)
        if oci delete orphan 2>"$WORK/orphan/err" && [ ! -d "$CG/orphan" ]; then
            pass "delete of a stopped container empties its cgroup ($left left behind by the init)"
        else
            fail "delete of a stopped container empties its cgroup" "$(cat "$WORK/orphan/err")"
        fi
    else
        fail "delete of a stopped container empties its cgroup" "status $(status_of orphan)"
    fi
    gone orphan
fi

# runc 1.1.5 signals what is left in a stopped container's cgroup.
bundle orphan-kill '["sh", "-c", "sleep 100 & exit 0"]' '.linux.namespaces |= map(select(.type != "pid"))'
if run_bg orphan-kill "kill --all of a stopped container signals what is left"; then
    if wait_for orphan-kill stopped && oci kill --all orphan-kill KILL 2>"$WORK/orphan-kill/err"; then
        sleep 0.3
        check "kill --all of a stopped container signals what is left" \
            "$(cat "$CG/orphan-kill/cgroup.procs" | wc -l)" 0
    else
        fail "kill --all of a stopped container signals what is left" \
            "status $(status_of orphan-kill): $(cat "$WORK/orphan-kill/err")"
    fi
    gone orphan-kill
fi

# --- kill --all while the container forks ----------------------------------------------
# Every process keeps forking: signalling pids one by one races with the forks;
# cgroup.kill does not.
bundle storm '["sh", "-c", "for i in 1 2 3 4 5 6; do sh -c \"while :; do sleep 1 & sleep 0.01; done\" & done; wait"]' \
    '.linux.namespaces |= map(select(.type != "pid")) | .linux.resources.pids = {"limit": 2000}'
if run_bg storm "kill --all while the container forks"; then
    sleep 2
    before=$(wc -l <"$CG/storm/cgroup.procs")
    oci kill --all storm KILL 2>"$WORK/storm/err"
    i=0
    while [ $i -lt 30 ] && [ -n "$(cat "$CG/storm/cgroup.procs")" ]; do sleep 0.1; i=$((i + 1)); done
    after=$(wc -l <"$CG/storm/cgroup.procs")
    if [ "$after" -eq 0 ]; then pass "kill --all while the container forks ($before processes)"; else
        fail "kill --all while the container forks" "$after of $before processes left 3 s later $(cat "$WORK/storm/err")"
    fi
    gone storm
fi
# Other signals: the cgroup is frozen while its pids are signalled, then thawed.
bundle storm-term '["sh", "-c", "for i in 1 2 3 4 5 6; do sh -c \"while :; do sleep 1 & sleep 0.01; done\" & done; wait"]' \
    '.linux.namespaces |= map(select(.type != "pid")) | .linux.resources.pids = {"limit": 2000}'
if run_bg storm-term "kill --all TERM while the container forks"; then
    sleep 2
    before=$(wc -l <"$CG/storm-term/cgroup.procs")
    oci kill --all storm-term TERM 2>"$WORK/storm-term/err"
    i=0
    while [ $i -lt 30 ] && [ -n "$(cat "$CG/storm-term/cgroup.procs")" ]; do sleep 0.1; i=$((i + 1)); done
    after=$(wc -l <"$CG/storm-term/cgroup.procs")
    if [ "$after" -eq 0 ] && [ "$(cgfile storm-term cgroup.freeze)" = 0 ]; then
        pass "kill --all TERM while the container forks ($before processes; thawed after)"
    else
        fail "kill --all TERM while the container forks" \
            "$after of $before processes left 3 s later, cgroup.freeze $(cgfile storm-term cgroup.freeze) $(cat "$WORK/storm-term/err")"
    fi
    gone storm-term
fi

# --- devices ----------------------------------------------------------------------------
bundle dev-default '["sh", "-c", "echo ok >/dev/null && head -c 1 /dev/zero | wc -c"]'
run_fg dev-default
check "devices: the default deny-all list is accepted (docs/cgroups.md)" "$RC $(cat "$WORK/dev-default/out")" "0 1"
# The eBPF device program enforces the rules: /dev/kmsg (c 1:11), bound in from the host,
# exists in the container but may not be opened under deny-all; an allow rule opens it.
# (Written, not read: reading the kernel log also needs CAP_SYSLOG.)
KMSG='.mounts += [{"destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}]'
bundle dev-deny '["sh", "-c", "echo ocirun-device-check 2>/dev/null >/dev/kmsg; echo $?"]' "$KMSG"
run_fg dev-deny
check "devices: the eBPF program refuses a device the rules do not allow" "$RC $(cat "$WORK/dev-deny/out")" "0 1"
bundle dev-allow '["sh", "-c", "echo ocirun-device-check 2>/dev/null >/dev/kmsg; echo $?"]' \
    "$KMSG | .linux.resources.devices += [{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11, \"access\": \"w\"}]"
run_fg dev-allow
check "devices: an allow rule lets the program open it" "$RC $(cat "$WORK/dev-allow/out")" "0 0"

# --- errors ------------------------------------------------------------------------------
bundle netcls '["true"]' '.linux.resources.network = {"classID": 1048577}'
oci create --bundle "$WORK/netcls" netcls >/dev/null 2>"$WORK/netcls/err" </dev/null
if [ $? -ne 0 ] && grep -q "linux.resources.network.classID" "$WORK/netcls/err" && [ ! -d "$CG/netcls" ]; then
    pass "network.classID is an error on v2"
else
    fail "network.classID is an error on v2" "$(cat "$WORK/netcls/err")"
fi
oci delete --force netcls >/dev/null 2>&1

# --- nothing left behind ----------------------------------------------------------------
AFTER=$(ls "$CG" | grep -v '\.' | sort | tr '\n' ' ')
check "no cgroup left behind" "$AFTER" "$BEFORE"
check "no container left behind" "$(oci list -q 2>/dev/null | tr '\n' ' ')" ""

echo "guest checks took $(($(date +%s) - STARTED))s"
echo "$PASSED passed, $FAILED failed"
