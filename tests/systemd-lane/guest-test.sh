# shellcheck shell=sh
# ocirun's systemd cgroup driver checks, run by /bin/sh (dash) as the unit
# ocirun-systemd-lane.service inside the systemd lane's guest (see tests/systemd-lane/run.sh):
# PID 1 is systemd 252, the kernel has no v1 hierarchies (cgroup_no_v1=all) and systemd
# mounted cgroup2 at /sys/fs/cgroup. The root filesystem is the host's / (read-only 9p)
# under a tmpfs overlay, so /bin/busybox, jq and systemd's tools are the host's; ocirun
# and this script come from the payload share at /ocirun-lane.
#
# Two groups of checks, run in order:
#   preconditions  what the lane itself must give: systemd as PID 1, cgroup2 with the
#                  memory, pids and cpu controllers, transient scopes with limits made
#                  by systemd-run and over D-Bus, the private socket and the system bus,
#                  and a busybox bundle that ocirun runs with its cgroupfs driver.
#   driver         `ocirun --systemd-cgroup`: a transient scope per container, its limits
#                  as unit properties, update, pause/resume, delete, the cgroupsPath forms.
# OCIRUN_LANE_GROUPS (from /ocirun-lane/lane.env) lists the groups to run.
#
# Each check prints `PASS [group] name` or `FAIL [group] name: why`; each group ends with
# `group: N passed, M failed`, and the last line is the total, `N passed, M failed`. The
# host's run.sh fails the lane unless M is 0. Then the guest powers off.

CG=/sys/fs/cgroup
OCIRUN=/ocirun-lane/ocirun
ROOT=/run/ocirun-lane
WORK=/tmp/lane
ROOTFS=$WORK/rootfs
PASSED=0
FAILED=0
GROUP=
GROUP_PASSED=0
GROUP_FAILED=0
STARTED=$(date +%s)

pass() {
    echo "PASS [$GROUP] $1"
    GROUP_PASSED=$((GROUP_PASSED + 1))
}
fail() {
    echo "FAIL [$GROUP] $1: $2"
    GROUP_FAILED=$((GROUP_FAILED + 1))
}
# check NAME GOT WANT: PASS when equal.
check() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# fail_each WHY NAME...: the checks that could not be made because an earlier step failed
# (so that a group always counts the same checks).
fail_each() {
    why=$1
    shift
    for name in "$@"; do fail "$name" "$why"; done
}
begin_group() {
    GROUP=$1
    GROUP_PASSED=0
    GROUP_FAILED=0
    GROUP_STARTED=$(date +%s)
    echo "--- $1"
}
end_group() {
    echo "guest: the $GROUP checks took $(($(date +%s) - GROUP_STARTED))s"
    echo "$GROUP: $GROUP_PASSED passed, $GROUP_FAILED failed"
    PASSED=$((PASSED + GROUP_PASSED))
    FAILED=$((FAILED + GROUP_FAILED))
}
wanted() {
    case " $OCIRUN_LANE_GROUPS " in *" $1 "*) return 0 ;; esac
    return 1
}

# Every ocirun command gets a hard timeout, so a hang fails a check, not the lane.
oci() { timeout 30 "$OCIRUN" --systemd-cgroup --root "$ROOT" "$@"; }

# A cgroup file under /sys/fs/cgroup, trimmed, or "<missing FILE>".
cgfile() {
    if [ -e "$CG/$1" ]; then tr '\n' ' ' <"$CG/$1" | sed 's/ *$//'; else echo "<missing ${1##*/}>"; fi
}
# The units, loaded in any state, that match a glob, on one line.
units_like() {
    systemctl list-units --all --plain --no-legend "$1" 2>/dev/null | awk '{print $1}' | tr '\n' ' ' | sed 's/ *$//'
}
unit_prop() { systemctl show -p "$2" --value "$1" 2>/dev/null; }

# no_trace UNIT CGROUP-DIR: up to 3 s for the unit to be unloaded and its cgroup removed
# (systemd garbage-collects a stopped scope asynchronously); prints what is left.
no_trace() {
    i=0
    while [ $i -lt 30 ]; do
        [ -z "$(units_like "$1")" ] && [ ! -d "$CG/$2" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "unit: $(units_like "$1") ($(unit_prop "$1" ActiveState)); cgroup dir: $([ -d "$CG/$2" ] && echo "$CG/$2" || echo none)"
    return 1
}

# bundle ID ARGS-JSON [JQ-FILTER]: /tmp/lane/ID with the shared read-only busybox rootfs,
# `ocirun spec`'s config, args and terminal off, no cgroup namespace (the checks read the
# full path in /proc/self/cgroup), then the filter.
bundle() {
    B=$WORK/$1
    rm -rf "$B"
    mkdir -p "$B"
    "$OCIRUN" spec --bundle "$B" || return 1
    jq --argjson args "$2" --arg rootfs "$ROOTFS" \
        ".process.terminal = false | .process.args = \$args | .root.path = \$rootfs
         | .linux.namespaces |= map(select(.type != \"cgroup\")) | ${3:-.}" \
        "$B/config.json" >"$B/config.tmp" && mv "$B/config.tmp" "$B/config.json"
}
# cgpath P: the filter that sets linux.cgroupsPath.
cgpath() { echo ".linux.cgroupsPath = \"$1\""; }

# run_fg ID: `run` in the foreground; output in $B/out and $B/err, exit code in RC.
run_fg() {
    B=$WORK/$1
    oci run --bundle "$B" "$1" >"$B/out" 2>"$B/err" </dev/null
    RC=$?
}
# run_bg ID: `run -d`; exit code in RC, stderr in $B/err.
run_bg() {
    B=$WORK/$1
    oci run -d --bundle "$B" "$1" >"$B/out" 2>"$B/err" </dev/null
    RC=$?
}
err_of() { head -c 300 "$WORK/$1/err" | tr '\n' ' '; }

# status_of, pid_of, wait_for
# shellcheck source=tests/v2-lane/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"
# scrub ID [UNIT]: whatever a check left, removed, so the next check starts clean.
scrub() {
    oci delete --force "$1" >/dev/null 2>&1
    if [ -n "${2:-}" ]; then
        systemctl stop "$2" >/dev/null 2>&1
        systemctl reset-failed "$2" >/dev/null 2>&1
    fi
}

read -r uptime _ </proc/uptime
echo "guest: the checks start $uptime s after the kernel started ($(uname -r), $(systemctl --version | head -1), $(nproc) cpus)"
echo "guest: groups: $OCIRUN_LANE_GROUPS"

# The busybox rootfs every bundle shares (read-only in the containers).
mkdir -p "$WORK" "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev" "$ROOTFS/tmp" "$ROOTFS/etc"
cp /bin/busybox "$ROOTFS/bin/busybox"
# One process for the ~400 applet links (a fork and exec each costs under emulation).
# They point at busybox's own path, /usr/bin/busybox on a merged-/usr host: the same
# path in the rootfs leads to the copy.
/bin/busybox --install -s "$ROOTFS/bin"
applet_target=$(readlink "$ROOTFS/bin/cat")
if [ "$applet_target" != /bin/busybox ]; then
    mkdir -p "$ROOTFS${applet_target%/*}"
    ln -s /bin/busybox "$ROOTFS$applet_target"
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOTFS/etc/passwd"

# ----------------------------------------------------------------------------------------
if wanted preconditions; then
    begin_group preconditions

    exe=$(readlink /proc/1/exe)
    case "$(cat /proc/1/comm) $exe" in
    "systemd "*/systemd) booted=yes ;;
    *) booted=no ;;
    esac
    [ -d /run/systemd/system ] || booted="no (no /run/systemd/system)"
    check "PID 1 is systemd ($exe)" "$booted" yes

    check "/sys/fs/cgroup is cgroup2 and no v1 hierarchy is mounted" \
        "$(stat -f -c %T $CG) $(awk '$3 == "cgroup"' /proc/mounts | wc -l)" "cgroup2fs 0"
    missing=
    for c in memory pids cpu; do
        grep -qw "$c" $CG/cgroup.controllers || missing="$missing $c"
    done
    check "the root cgroup has the memory, pids and cpu controllers ($(cat $CG/cgroup.controllers))" "${missing:-none}" none

    check "systemd's private socket /run/systemd/private" "$([ -S /run/systemd/private ] && echo socket)" socket
    check "systemctl talks to PID 1 (over the private socket)" "$(systemctl show -p Version --value | cut -c1-3)" 252
    # systemd joins the system bus once dbus.service is up: give it a moment.
    i=0
    while [ $i -lt 50 ]; do
        version=$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
            org.freedesktop.systemd1.Manager Version 2>&1)
        case "$version" in 's "252'*) break ;; esac
        sleep 0.1
        i=$((i + 1))
    done
    check "busctl reaches systemd over the system bus (dbus-daemon)" "$(echo "$version" | cut -c1-6)" 's "252'

    probe=$(timeout 30 systemd-run --quiet --scope -p MemoryMax=64M -p TasksMax=50 --unit=lane-probe \
        sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/system.slice/lane-probe.scope/memory.max \
               /sys/fs/cgroup/system.slice/lane-probe.scope/pids.max
               systemctl is-active lane-probe.scope; systemctl show -p MemoryMax --value lane-probe.scope
               sleep 1' 2>&1 | tr '\n' ' ')
    check "systemd-run --scope -p MemoryMax=64M: cgroup, memory.max, pids.max, active, MemoryMax" \
        "$probe" "0::/system.slice/lane-probe.scope 67108864 50 active 67108864 "
    if msg=$(no_trace lane-probe.scope system.slice/lane-probe.scope); then
        pass "the probe scope is gone when its command ends"
    else
        fail "the probe scope is gone when its command ends" "$msg"
    fi

    # What the driver will do: StartTransientUnit over the bus with PIDs and a limit.
    sleep 60 &
    sleeper=$!
    if out=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
        StartTransientUnit 'ssa(sv)a(sa(sv))' lane-dbus.scope fail 3 \
        PIDs au 1 "$sleeper" MemoryMax t 67108864 Slice s system.slice 0 2>&1); then
        i=0
        while [ $i -lt 30 ] && [ "$(cat /proc/$sleeper/cgroup)" != 0::/system.slice/lane-dbus.scope ]; do
            sleep 0.1
            i=$((i + 1))
        done
        check "StartTransientUnit over D-Bus: the pid moves into the scope, memory.max set" \
            "$(cat /proc/$sleeper/cgroup) $(cgfile system.slice/lane-dbus.scope/memory.max)" \
            "0::/system.slice/lane-dbus.scope 67108864"
    else
        fail "StartTransientUnit over D-Bus: the pid moves into the scope, memory.max set" "$out"
    fi
    kill $sleeper 2>/dev/null
    wait $sleeper 2>/dev/null
    if msg=$(no_trace lane-dbus.scope system.slice/lane-dbus.scope); then
        pass "the D-Bus scope is gone when its process dies"
    else
        fail "the D-Bus scope is gone when its process dies" "$msg"
    fi
    systemctl reset-failed lane-probe.scope lane-dbus.scope >/dev/null 2>&1

    # The bundles themselves work here (overlay root, systemd's shared mounts): with the
    # cgroupfs driver, so that a driver check that fails is about the driver.
    bundle fs1 '["cat", "/proc/self/cgroup"]' "$(cgpath /lane-cgroupfs/fs1)"
    timeout 30 "$OCIRUN" --root "$ROOT" run --bundle "$WORK/fs1" fs1 >"$WORK/fs1/out" 2>"$WORK/fs1/err" </dev/null
    check "ocirun without --systemd-cgroup runs a busybox bundle here (cgroupfs)" \
        "$? $(cat "$WORK/fs1/out")$(err_of fs1)" "0 0::/lane-cgroupfs/fs1"
    timeout 30 "$OCIRUN" --root "$ROOT" delete --force fs1 >/dev/null 2>&1
    end_group
fi

# ----------------------------------------------------------------------------------------
if wanted driver; then
    begin_group driver
    C1=system.slice/ocirun-lane-c1.scope

    # --- run: the container is in its scope ------------------------------------------
    bundle c1 '["cat", "/proc/self/cgroup"]' "$(cgpath system.slice:ocirun-lane:c1)"
    run_fg c1
    check "run: /proc/self/cgroup is 0::/$C1" "$RC $(cat "$WORK/c1/out")$(err_of c1)" "0 0::/$C1"
    if msg=$(no_trace 'ocirun-lane-*' $C1); then pass "run: no unit and no cgroup left when it ends"; else
        fail "run: no unit and no cgroup left when it ends" "$msg"
    fi
    scrub c1 ocirun-lane-c1.scope

    # --- create + start: limits as cgroup files and as unit properties ----------------
    LIMITS='.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 32}'
    bundle c1 '["sleep", "100"]' "$(cgpath system.slice:ocirun-lane:c1) | $LIMITS"
    LIFE="create: the init is born in the scope
start: systemctl is-active ocirun-lane-c1.scope
exec: the exec'd process is in the scope
memory.limit 64M: memory.max
memory.limit 64M: MemoryMax
pids.limit 32: pids.max
pids.limit 32: TasksMax
update --memory 128M: memory.max and MemoryMax
pause: state paused, cgroup frozen
resume: state running, cgroup thawed
kill + delete: no unit and no cgroup left"
    if oci create --bundle "$WORK/c1" c1 >/dev/null 2>"$WORK/c1/err" </dev/null; then
        check "create: the init is born in the scope" "$(cat /proc/"$(pid_of c1)"/cgroup)" "0::/$C1"
        if oci start c1 2>"$WORK/c1/err"; then
            check "start: systemctl is-active ocirun-lane-c1.scope" "$(systemctl is-active ocirun-lane-c1.scope)" active
        else
            fail "start: systemctl is-active ocirun-lane-c1.scope" "start: $(err_of c1)"
        fi
        check "exec: the exec'd process is in the scope" "$(oci exec c1 cat /proc/self/cgroup 2>&1)" "0::/$C1"
        check "memory.limit 64M: memory.max" "$(cgfile $C1/memory.max)" 67108864
        check "memory.limit 64M: MemoryMax" "$(unit_prop ocirun-lane-c1.scope MemoryMax)" 67108864
        check "pids.limit 32: pids.max" "$(cgfile $C1/pids.max)" 32
        check "pids.limit 32: TasksMax" "$(unit_prop ocirun-lane-c1.scope TasksMax)" 32
        if oci update --memory 128M c1 2>"$WORK/c1/err"; then
            check "update --memory 128M: memory.max and MemoryMax" \
                "$(cgfile $C1/memory.max) $(unit_prop ocirun-lane-c1.scope MemoryMax)" "134217728 134217728"
        else
            fail "update --memory 128M: memory.max and MemoryMax" "$(err_of c1)"
        fi
        if oci pause c1 2>"$WORK/c1/err"; then
            check "pause: state paused, cgroup frozen" \
                "$(status_of c1) $(grep frozen "$CG/$C1/cgroup.events" 2>&1)" "paused frozen 1"
        else
            fail "pause: state paused, cgroup frozen" "$(err_of c1)"
        fi
        if oci resume c1 2>"$WORK/c1/err"; then
            check "resume: state running, cgroup thawed" \
                "$(status_of c1) $(grep frozen "$CG/$C1/cgroup.events" 2>&1)" "running frozen 0"
        else
            fail "resume: state running, cgroup thawed" "$(err_of c1)"
        fi
        oci kill c1 KILL 2>"$WORK/c1/err"
        if ! wait_for c1 stopped; then
            fail "kill + delete: no unit and no cgroup left" "status $(status_of c1) after kill: $(err_of c1)"
        elif ! oci delete c1 2>"$WORK/c1/err"; then
            fail "kill + delete: no unit and no cgroup left" "delete: $(err_of c1)"
        elif msg=$(no_trace 'ocirun-lane-*' $C1); then
            pass "kill + delete: no unit and no cgroup left"
        else
            fail "kill + delete: no unit and no cgroup left" "$msg"
        fi
    else
        why="create failed: $(err_of c1)"
        saved_ifs=$IFS
        IFS='
'
        # shellcheck disable=SC2086 # split on the newlines of the list
        set -- $LIFE
        IFS=$saved_ifs
        fail_each "$why" "$@"
    fi
    scrub c1 ocirun-lane-c1.scope

    # --- an empty cgroupsPath: ocirun-<id>.scope in system.slice -----------------------
    bundle e1 '["sleep", "100"]' '.linux.cgroupsPath = ""'
    run_bg e1
    if [ $RC -eq 0 ]; then
        check "empty cgroupsPath: the init is in system.slice/ocirun-e1.scope, active" \
            "$(cat /proc/"$(pid_of e1)"/cgroup) $(systemctl is-active ocirun-e1.scope)" \
            "0::/system.slice/ocirun-e1.scope active"
    else
        fail "empty cgroupsPath: the init is in system.slice/ocirun-e1.scope, active" "run -d: $(err_of e1)"
    fi
    scrub e1 ocirun-e1.scope

    # --- a nested slice: lane-a.slice is lane.slice/lane-a.slice -----------------------
    bundle c2 '["sleep", "100"]' "$(cgpath lane-a.slice:p:c2)"
    run_bg c2
    if [ $RC -eq 0 ]; then
        check "cgroupsPath lane-a.slice:p:c2: the init is in lane.slice/lane-a.slice/p-c2.scope" \
            "$(cat /proc/"$(pid_of c2)"/cgroup) $(unit_prop p-c2.scope Slice)" \
            "0::/lane.slice/lane-a.slice/p-c2.scope lane-a.slice"
        oci delete --force c2 2>"$WORK/c2/err"
        if msg=$(no_trace p-c2.scope lane.slice/lane-a.slice/p-c2.scope); then
            pass "cgroupsPath lane-a.slice:p:c2: delete --force removes the scope"
        else
            fail "cgroupsPath lane-a.slice:p:c2: delete --force removes the scope" "$msg $(err_of c2)"
        fi
    else
        fail_each "run -d: $(err_of c2)" \
            "cgroupsPath lane-a.slice:p:c2: the init is in lane.slice/lane-a.slice/p-c2.scope" \
            "cgroupsPath lane-a.slice:p:c2: delete --force removes the scope"
    fi
    scrub c2 p-c2.scope

    # --- a malformed cgroupsPath: refused, nothing made ----------------------------------
    bundle bad '["true"]' "$(cgpath no-colons)"
    oci create --bundle "$WORK/bad" bad >/dev/null 2>"$WORK/bad/err" </dev/null
    RC=$?
    left="units: $(units_like '*bad*')$(units_like '*no-colons*'); state: $(find "$ROOT" -name '*bad*' 2>/dev/null | tr '\n' ' ')"
    left="$left; cgroups: $(find $CG -type d \( -name '*bad*' -o -name '*no-colons*' \) 2>/dev/null | tr '\n' ' ')"
    if [ $RC -ne 0 ]; then
        check "cgroupsPath no-colons: create fails and leaves no unit, state or cgroup ($(err_of bad))" \
            "$left" "units: ; state: ; cgroups: "
    else
        fail "cgroupsPath no-colons: create fails and leaves no unit, state or cgroup" "create succeeded; $left"
    fi
    scrub bad

    # --- delete --force of a running container ------------------------------------------
    bundle c3 '["sleep", "100"]' "$(cgpath system.slice:ocirun-lane:c3)"
    run_bg c3
    if [ $RC -eq 0 ]; then
        active=$(systemctl is-active ocirun-lane-c3.scope)
        if ! oci delete --force c3 2>"$WORK/c3/err"; then
            fail "delete --force of a running container removes its scope" "delete --force: $(err_of c3)"
        elif msg=$(no_trace ocirun-lane-c3.scope system.slice/ocirun-lane-c3.scope); then
            check "delete --force of a running container removes its scope (active before)" "$active" active
        else
            fail "delete --force of a running container removes its scope" "$msg"
        fi
    else
        fail "delete --force of a running container removes its scope" "run -d: $(err_of c3)"
    fi
    scrub c3 ocirun-lane-c3.scope

    # --- a taken unit name: refused, and the owner keeps its scope ----------------------
    bundle d1 '["sleep", "100"]' "$(cgpath system.slice:ocirun-lane:dup)"
    bundle d2 '["sleep", "100"]' "$(cgpath system.slice:ocirun-lane:dup)"
    run_bg d1
    if [ "$RC" = 0 ]; then
        run_bg d2
        rc2=$RC
        got="$rc2 $(err_of d2)| d1 $(status_of d1) $(systemctl is-active ocirun-lane-dup.scope) | d2 $(status_of d2)"
        case "$got" in
        "1 ocirun: "*"systemd unit ocirun-lane-dup.scope already exists"*"| d1 running active | d2 ")
            pass "a second container on a taken unit fails with one line; the first keeps its scope" ;;
        *) fail "a second container on a taken unit fails with one line; the first keeps its scope" "$got" ;;
        esac
    else
        fail "a second container on a taken unit fails with one line; the first keeps its scope" "run -d d1: $(err_of d1)"
    fi
    scrub d2
    scrub d1 ocirun-lane-dup.scope

    # --- an idle systemd answers every connection ---------------------------------------
    # systemd 252 left a call that arrived with BEGIN unread until something else woke it:
    # on an idle systemd a run then waited for the D-Bus timeout (about one connection in
    # fifteen). Ten runs in a row, each given 10 s, all in time.
    bundle r1 '["true"]' "$(cgpath system.slice:ocirun-lane:r1)"
    slow=""
    for i in 1 2 3 4 5 6 7 8 9 10; do
        sleep 0.3 # idle: no other unit is changing
        if ! timeout 10 "$OCIRUN" --systemd-cgroup --root "$ROOT" run --bundle "$WORK/r1" r1 \
            >/dev/null 2>"$WORK/r1/err" </dev/null; then
            slow="$slow run $i: $(err_of r1);"
            timeout 30 "$OCIRUN" --systemd-cgroup --root "$ROOT" delete --force r1 >/dev/null 2>&1
        fi
    done
    check "ten runs in a row on an idle systemd, none waits for the D-Bus timeout" "$slow" ""
    scrub r1 ocirun-lane-r1.scope

    # --- nothing left behind ------------------------------------------------------------
    check "no container left behind" "$(oci list -q 2>/dev/null | tr '\n' ' ')" ""
    check "no ocirun scope left behind" "$(units_like 'ocirun-*.scope')$(units_like 'p-c2.scope')" ""
    end_group
fi

# ----------------------------------------------------------------------------------------
# AppArmor: Debian's kernel enables it by default (the host here has no LSM at all), and
# the host's apparmor_parser (package apparmor) loads a profile of ours.
# ----------------------------------------------------------------------------------------
# The driver on a hybrid host (its own boot: systemd.unified_cgroup_hierarchy=0): systemd
# makes the scope in name=systemd, cgroup2 and the v1 controllers it manages; ocirun
# makes the same path in the other v1 hierarchies, and removes only those.
if wanted hybrid; then
    begin_group hybrid
    V1=/sys/fs/cgroup
    if [ "$(stat -f -c %T $V1/unified 2>/dev/null)" = cgroup2fs ] && [ -f $V1/memory/memory.limit_in_bytes ]; then
        pass "hybrid layout: v1 controllers and cgroup2 at /sys/fs/cgroup/unified"
    else
        fail "hybrid layout: v1 controllers and cgroup2 at /sys/fs/cgroup/unified" "$(ls $V1 2>&1 | tr '\n' ' ')"
    fi
    H1=system.slice/ocirun-lane-h1.scope
    limits='.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 32}'
    bundle h1 '["sh", "-c", "cat /proc/self/cgroup; sleep 100"]' "$(cgpath system.slice:ocirun-lane:h1) | $limits"
    run_bg h1
    if [ "$RC" = 0 ]; then
        pid=$(pid_of h1)
        cg=$(cat "/proc/$pid/cgroup" 2>/dev/null)
        for line in "0::/$H1" ":memory:/$H1" ":pids:/$H1" ":freezer:/$H1" "name=systemd:/$H1"; do
            case "$cg" in
            *"$line"*) pass "the init is in $line" ;;
            *) fail "the init is in $line" "$(echo "$cg" | tr '\n' ' ')" ;;
            esac
        done
        check "memory.limit_in_bytes (v1, in systemd's scope)" "$(cat $V1/memory/$H1/memory.limit_in_bytes 2>&1)" 67108864
        check "pids.max (v1)" "$(cat $V1/pids/$H1/pids.max 2>&1)" 32
        check "systemctl: active, MemoryMax 64M" \
            "$(unit_prop ocirun-lane-h1.scope ActiveState) $(unit_prop ocirun-lane-h1.scope MemoryMax)" "active 67108864"
        if oci pause h1 >/dev/null 2>&1 && [ "$(status_of h1)" = paused ] && [ "$(cat $V1/freezer/$H1/freezer.state)" = FROZEN ] &&
            oci resume h1 >/dev/null 2>&1 && [ "$(status_of h1)" = running ]; then
            pass "pause/resume through the v1 freezer"
        else
            fail "pause/resume through the v1 freezer" "state $(status_of h1), freezer $(cat $V1/freezer/$H1/freezer.state 2>&1)"
        fi
        oci delete --force h1 >/dev/null 2>"$WORK/h1/err"
        left=""
        for _ in $(seq 1 30); do
            left=""
            for h in $V1/*/; do
                [ -d "$h$H1" ] && left="$left $h$H1"
            done
            [ -z "$left" ] && [ -z "$(units_like ocirun-lane-h1.scope)" ] && break
            sleep 0.1
        done
        check "delete --force: no unit and no directory in any hierarchy" "$left$(units_like ocirun-lane-h1.scope)" ""
    else
        fail "run -d on a hybrid host" "$(err_of h1)"
    fi
    check "no container left behind" "$(oci list -q 2>/dev/null | tr '\n' ' ')" ""
    end_group
fi

if wanted apparmor; then
    begin_group apparmor
    if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
        fail "AppArmor is enabled in the guest" "/sys/module/apparmor/parameters/enabled: $(cat /sys/module/apparmor/parameters/enabled 2>&1)"
    elif ! command -v apparmor_parser >/dev/null 2>&1; then
        fail "apparmor_parser is there (Debian package apparmor)" "not found"
    else
        # Everything allowed but writing under /tmp.
        cat >"$WORK/ocirun-lane.profile" <<'PROFILE'
profile ocirun-lane flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  unix,
  signal,
  ptrace,
  mount,
  umount,
  pivot_root,
  deny /tmp/** w,
}
PROFILE
        if out=$(apparmor_parser --replace --skip-cache "$WORK/ocirun-lane.profile" 2>&1); then
            pass "a profile is loaded (apparmor_parser --replace)"
        else
            fail "a profile is loaded (apparmor_parser --replace)" "$out"
        fi
        probe='["sh", "-c", "echo label=$(cat /proc/self/attr/current); touch /tmp/x 2>/dev/null && echo write=ok || echo write=denied"]'
        tmpfs='.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}]'
        # Without a profile: unconfined, and /tmp (a tmpfs) is writable.
        bundle aa0 "$probe" "$tmpfs"
        timeout 30 "$OCIRUN" --root "$ROOT" run --bundle "$WORK/aa0" aa0 >"$WORK/aa0/out" 2>"$WORK/aa0/err" </dev/null
        check "no profile: unconfined, /tmp writable" "$? $(tr '\n' ' ' <"$WORK/aa0/out")" "0 label=unconfined write=ok "
        # With process.apparmorProfile: the program runs confined from its first instruction.
        bundle aa1 "$probe" "$tmpfs | .process.apparmorProfile = \"ocirun-lane\""
        timeout 30 "$OCIRUN" --root "$ROOT" run --bundle "$WORK/aa1" aa1 >"$WORK/aa1/out" 2>"$WORK/aa1/err" </dev/null
        check "process.apparmorProfile: the program is confined by it, its deny rule holds" \
            "$? $(tr '\n' ' ' <"$WORK/aa1/out")$(head -c 200 "$WORK/aa1/err")" "0 label=ocirun-lane (enforce) write=denied "
        # exec --apparmor into an unconfined container.
        bundle aa2 '["sleep", "100"]' "$tmpfs"
        if timeout 30 "$OCIRUN" --root "$ROOT" run -d --bundle "$WORK/aa2" aa2 >/dev/null 2>"$WORK/aa2/err" </dev/null; then
            got=$(timeout 30 "$OCIRUN" --root "$ROOT" exec --apparmor ocirun-lane aa2 sh -c 'cat /proc/self/attr/current; touch /tmp/y 2>/dev/null && echo write=ok || echo write=denied' 2>&1 | tr '\n' ' ')
            check "exec --apparmor: the exec'd process is confined" "$got" "ocirun-lane (enforce) write=denied "
            got=$(timeout 30 "$OCIRUN" --root "$ROOT" exec aa2 cat /proc/self/attr/current 2>&1)
            check "exec without --apparmor: the container's (none) applies" "$got" "unconfined"
            got=$(timeout 30 "$OCIRUN" --root "$ROOT" exec --apparmor ocirun-lane-missing aa2 true 2>&1)
            check "exec --apparmor with a profile not loaded: one line naming it" "$? $got" \
                "1 ocirun: exec process.apparmorProfile \"ocirun-lane-missing\": no such profile is loaded in the kernel"
        else
            fail "exec --apparmor" "run -d: $(head -c 200 "$WORK/aa2/err")"
        fi
        timeout 30 "$OCIRUN" --root "$ROOT" delete --force aa2 >/dev/null 2>&1
        # A profile the kernel does not know: a clear error, nothing left.
        bundle aa3 '["true"]' '.process.apparmorProfile = "ocirun-lane-missing"'
        timeout 30 "$OCIRUN" --root "$ROOT" run --bundle "$WORK/aa3" aa3 >"$WORK/aa3/out" 2>"$WORK/aa3/err" </dev/null
        rc=$?
        err=$(cat "$WORK/aa3/err")
        left=$(timeout 30 "$OCIRUN" --root "$ROOT" list -q 2>/dev/null | tr '\n' ' ')
        if [ "$rc" != 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -le 1 ] &&
            printf '%s' "$err" | grep -q "ocirun-lane-missing" && [ -z "$left" ]; then
            pass "an unknown profile: one line naming it, nothing left ($msg)"
        else
            fail "an unknown profile: one line naming it, nothing left" "exit $rc, err '$err', left '$left'"
        fi
        apparmor_parser --remove "$WORK/ocirun-lane.profile" >/dev/null 2>&1
    fi
    end_group
fi

# ----------------------------------------------------------------------------------------
# SELinux: its own boot (run.sh puts it on the kernel command line instead of AppArmor),
# permissive, with no policy until this group loads the lane's (selinux.cil, compiled on
# the host into the payload). Every process started before the load, this script
# included, then has the initial SID "kernel": system_u:system_r:kernel_t:s0.
if wanted selinux; then
    begin_group selinux
    PROC_LABEL=system_u:system_r:container_t:s0:c1,c2
    FILE_LABEL=system_u:object_r:container_file_t:s0:c1,c2
    RUNTIME_LABEL=system_u:system_r:kernel_t:s0
    # attr/current ends with a NUL.
    label_of() { tr -d '\0' <"/proc/$1/attr/current" 2>&1; }
    # ocl ARGS: ocirun with the cgroupfs driver (the group is about labels, not units).
    ocl() { timeout 30 "$OCIRUN" --root "$ROOT" "$@"; }
    # fails_cleanly ID WORD: `run` of bundle ID failed with one line containing WORD and
    # left no container and no state; prints that line, or what went wrong.
    fails_cleanly() {
        ocl run --bundle "$WORK/$1" "$1" >"$WORK/$1/out" 2>"$WORK/$1/err" </dev/null
        rc=$?
        err=$(cat "$WORK/$1/err")
        left="$(ocl list -q 2>/dev/null | tr '\n' ' ')$(find "$ROOT" -mindepth 1 -name "*$1*" 2>/dev/null)"
        if [ "$rc" != 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -le 1 ] &&
            printf '%s' "$err" | grep -qF "$2" && [ -z "$left" ]; then
            echo "$err"
            return 0
        fi
        echo "exit $rc, err '$err', left '$left'"
        return 1
    }
    enabled="$([ -e /sys/fs/selinux/enforce ] && cat /sys/fs/selinux/enforce) $(label_of self)"
    check "SELinux is enabled, permissive, no policy yet (enforce, attr/current)" "$enabled" "0 kernel"
    if [ ! -s /ocirun-lane/selinux.policy ]; then
        fail "the lane's policy loads" "no /ocirun-lane/selinux.policy (is secilc installed on the host?)"
    elif ! out=$(cat /ocirun-lane/selinux.policy 2>&1 >/sys/fs/selinux/load); then
        fail "the lane's policy loads" "writing /sys/fs/selinux/load: $out"
    else
        check "the lane's policy is loaded: its classes in selinuxfs, our label on this script" \
            "$(cd /sys/fs/selinux/class && echo *) $(label_of self)" \
            "dir file filesystem process process2 security $RUNTIME_LABEL"
    fi

    probe='["cat", "/proc/self/attr/current"]'
    bundle se0 "$probe"
    ocl run --bundle "$WORK/se0" se0 >"$WORK/se0/out" 2>"$WORK/se0/err" </dev/null
    check "no process.selinuxLabel: the program keeps the runtime's label" \
        "$? $(tr -d '\0' <"$WORK/se0/out")$(err_of se0)" "0 $RUNTIME_LABEL"
    bundle se1 "$probe" ".process.selinuxLabel = \"$PROC_LABEL\""
    ocl run --bundle "$WORK/se1" se1 >"$WORK/se1/out" 2>"$WORK/se1/err" </dev/null
    check "process.selinuxLabel: the program runs with it" \
        "$? $(tr -d '\0' <"$WORK/se1/out")$(err_of se1)" "0 $PROC_LABEL"

    # exec --process-label into a container whose init has no label of its own.
    bundle se2 '["sleep", "100"]'
    if ocl run -d --bundle "$WORK/se2" se2 >/dev/null 2>"$WORK/se2/err" </dev/null; then
        got=$(ocl exec --process-label "$PROC_LABEL" se2 cat /proc/self/attr/current 2>&1 | tr -d '\0')
        check "exec --process-label: the exec'd process has it" "$got" "$PROC_LABEL"
        got=$(ocl exec se2 cat /proc/self/attr/current 2>&1 | tr -d '\0')
        check "exec without --process-label: the container's (none: the runtime's)" "$got" "$RUNTIME_LABEL"
    else
        fail_each "run -d: $(err_of se2)" "exec --process-label: the exec'd process has it" \
            "exec without --process-label: the container's (none: the runtime's)"
    fi
    ocl delete --force se2 >/dev/null 2>&1

    # linux.mountLabel: context= on the tmpfs and devpts mounts (the spec's /dev, /dev/pts,
    # /dev/shm, and /tmp), none on proc and sysfs, whose labels are fixed, nor on mqueue,
    # whose superblock exists before the mount: ocirun labels its root instead. A file made
    # in /tmp has the label (coreutils' stat from outside, through /proc/PID/root: busybox
    # has no SELinux support).
    bundle se3 '["sh", "-c", "touch /tmp/f && exec sleep 100"]' \
        ".mounts += [{\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"nodev\"]}]
         | .linux.mountLabel = \"$FILE_LABEL\""
    if ocl run -d --bundle "$WORK/se3" se3 >/dev/null 2>"$WORK/se3/err" </dev/null; then
        pid=$(ocl state se3 | jq -r .pid)
        # mountinfo: field 5 is the mount point, the last field the superblock's options.
        got=$(ocl exec se3 cat /proc/self/mountinfo 2>&1 | awk -v ctx="context=\"$FILE_LABEL\"" '
            $5 ~ /^\/(tmp|dev|dev\/pts|dev\/shm|dev\/mqueue|proc|sys)$/ {
                print $5 ":" (index($NF, ctx) ? "context" : "none")
            }' | sort | tr '\n' ' ')
        check "linux.mountLabel: context= in mountinfo on the tmpfs and devpts mounts only" "$got" \
            "/dev/mqueue:none /dev/pts:context /dev/shm:context /dev:context /proc:none /sys:none /tmp:context "
        i=0
        while [ $i -lt 50 ] && [ ! -e "/proc/$pid/root/tmp/f" ]; do
            sleep 0.1
            i=$((i + 1))
        done
        check "linux.mountLabel: a file made in /tmp has it, and the root of /dev/mqueue" \
            "$(stat -c %C "/proc/$pid/root/tmp/f" "/proc/$pid/root/dev/mqueue" 2>&1 | tr '\n' ' ')" \
            "$FILE_LABEL $FILE_LABEL "
    else
        fail_each "run -d: $(err_of se3)" \
            "linux.mountLabel: context= in mountinfo on the tmpfs and devpts mounts only" \
            "linux.mountLabel: a file made in /tmp has it, and the root of /dev/mqueue"
    fi
    ocl delete --force se3 >/dev/null 2>&1

    # Labels the policy does not define: refused with one line, nothing left.
    bundle se4 '["true"]' '.process.selinuxLabel = "system_u:system_r:no_such_t:s0"'
    if msg=$(fails_cleanly se4 process.selinuxLabel); then
        pass "an undefined process.selinuxLabel: one line naming it, nothing left ($msg)"
    else
        fail "an undefined process.selinuxLabel: one line naming it, nothing left" "$msg"
    fi
    bundle se5 '["true"]' '.linux.mountLabel = "system_u:object_r:no_such_t:s0"'
    if msg=$(fails_cleanly se5 linux.mountLabel); then
        pass "an undefined linux.mountLabel: one line naming it, nothing left ($msg)"
    else
        fail "an undefined linux.mountLabel: one line naming it, nothing left" "$msg"
    fi
    end_group
fi

echo "guest checks took $(($(date +%s) - STARTED))s"
echo "$PASSED passed, $FAILED failed"
# Power off at once: the report is written (the port's writes are synchronous), and
# nothing in the guest is worth stopping cleanly.
systemctl poweroff -f
