#!/usr/bin/env bash
# Everything CI runs (.ci/run execs this): formatting, clippy, and the whole
# workspace's tests, which start real containers and so need root.
#
#   bash scripts/test.sh
#
# Installs the system prerequisites first if one of them is missing (the apt
# part of scripts/setup.sh). Ends with two qemu guests (see docs/cgroups.md): the pure
# cgroup v2 lane (tests/v2-lane/run.sh; OCIRUN_SKIP_V2_LANE=1 skips it) and the systemd
# lane (tests/systemd-lane/run.sh, systemd as PID 1 for --systemd-cgroup;
# OCIRUN_SKIP_SYSTEMD_LANE=1 skips it). Each skips itself, saying why, where it cannot
# run; any failure of either fails the run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/setup.sh
. "$REPO/scripts/setup.sh" # defines ensure_packages/ensure_rust; runs nothing

START=$SECONDS
STEP="setup"
DONE=()
summary() {
    local rc=$? took=$((SECONDS - START))
    if [[ $rc -eq 0 ]]; then
        printf '\nSUMMARY: PASS (%s) in %ss\n' "${DONE[*]}" "$took"
    else
        printf '\nSUMMARY: FAIL at step "%s" (exit %s) after %ss; passed: %s\n' \
            "$STEP" "$rc" "$took" "${DONE[*]:-none}"
    fi
}
trap summary EXIT

step() {
    STEP=$1
    shift
    printf '\n==> %s: %s\n' "$STEP" "$*"
    "$@"
    DONE+=("$STEP")
}

STEP="root check"
if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
    die "the tests start real containers and must run as root (try: sudo bash scripts/test.sh)"
fi

STEP="prerequisites"
# Every package of scripts/setup.sh's list (a dpkg query each, apt-get only for what is
# missing): a machine set up from an older list still gets what the lanes need now
# (systemd, dbus, apparmor, secilc).
ensure_packages
if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found: run bash scripts/setup.sh first"
for tool in fmt clippy; do
    if ! cargo "$tool" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null 2>&1; then
            rustup component add "$([[ $tool == fmt ]] && echo rustfmt || echo clippy)"
        else
            die "cargo $tool is not installed (install rustfmt/clippy for your toolchain)"
        fi
    fi
done
DONE+=(prerequisites)

step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --all-features -- -D warnings
step test cargo test --workspace --all-features

# guest_lane NAME SCRIPT SKIP_VARIABLE: a qemu lane; exit status 77 is a skip with its
# reason printed, any other failure fails the run.
guest_lane() {
    local name=$1 script=$2 skip_variable=$3
    STEP=$name
    if [[ ${!skip_variable:-0} == 1 ]]; then
        printf '\n==> %s: skipped (%s=1)\n' "$name" "$skip_variable"
        DONE+=("$name (skipped)")
        return
    fi
    printf '\n==> %s: bash %s\n' "$name" "$script"
    local lane_rc=0
    bash "$REPO/$script" || lane_rc=$?
    if [[ $lane_rc -eq 77 ]]; then
        printf '%s: skipped (the reason is above)\n' "$name"
        DONE+=("$name (skipped)")
    elif [[ $lane_rc -ne 0 ]]; then
        exit "$lane_rc"
    else
        DONE+=("$name")
    fi
}

guest_lane "v2 lane" tests/v2-lane/run.sh OCIRUN_SKIP_V2_LANE
guest_lane "systemd lane" tests/systemd-lane/run.sh OCIRUN_SKIP_SYSTEMD_LANE
