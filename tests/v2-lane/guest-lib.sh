# shellcheck shell=sh
# Shell helpers shared by both lanes' guest scripts (tests/v2-lane/guest-test.sh and
# tests/systemd-lane/guest-test.sh), sourced from the payload next to them. Each script
# defines `oci` (ocirun with its --root, under a timeout) before using these.

# status_of ID / pid_of ID: from `state`, empty when there is no such container.
status_of() { oci state "$1" 2>/dev/null | jq -r .status; }
pid_of() { oci state "$1" 2>/dev/null | jq -r .pid; }

# wait_for ID STATUS: up to 10 s.
wait_for() {
    i=0
    while [ $i -lt 100 ]; do
        [ "$(status_of "$1")" = "$2" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
