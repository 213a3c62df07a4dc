#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) for ocirun: installs the system
# packages and Rust, builds ocirun, installs it to /usr/local/bin/ocirun, then
# runs a busybox container and prints what it sees. Idempotent: steps that are
# already done are skipped quickly.
#
#   bash scripts/setup.sh
#
# Environment knobs:
#   OCIRUN_SKIP_BUILD=1   don't build/install (use whatever `ocirun` is on PATH)
#   OCIRUN_SKIP_DEMO=1    don't run the demo container
#   OCIRUN_BIN=<path>     the runtime binary the demo uses (default: ocirun)
#
# scripts/test.sh sources this file for ensure_packages/ensure_rust; nothing
# runs when it is sourced.
set -euo pipefail

OCIRUN_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages ocirun's build, tests and benchmarks need.
OCIRUN_APT_PACKAGES=(
    build-essential pkg-config libseccomp-dev busybox-static runc hyperfine jq
    iproute2 uidmap bats strace procps util-linux git curl ca-certificates dbus-daemon
    # booted (never run on the host) by the systemd lane's guest, tests/systemd-lane;
    # apparmor for its apparmor_parser, which loads the guest's test profile; secilc
    # compiles the lane's SELinux test policy (tests/systemd-lane/selinux.cil)
    systemd dbus apparmor secilc
)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root() {
    [[ ${EUID:-$(id -u)} -eq 0 ]] || die "$1 must run as root (try: sudo bash $0)"
}

# Installs whichever of OCIRUN_APT_PACKAGES are missing; no apt-get at all when
# everything is installed.
ensure_packages() {
    local missing=() p
    for p in "${OCIRUN_APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "system packages: all installed"
        return 0
    fi
    require_root "installing packages"
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# Puts cargo on PATH, installing Rust if there is none: rustup first (stable,
# with rustfmt and clippy), Debian's cargo/rustc as a fallback.
ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    if command -v cargo >/dev/null 2>&1; then
        log "rust: $(cargo --version)"
        return 0
    fi
    log "cargo not found: installing Rust with rustup"
    if curl --proto '=https' --tlsv1.2 -sSf --max-time 60 https://sh.rustup.rs -o /tmp/rustup-init.sh &&
        sh /tmp/rustup-init.sh -y --profile minimal --component rustfmt,clippy; then
        rm -f /tmp/rustup-init.sh
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    else
        rm -f /tmp/rustup-init.sh
        log "rustup is unreachable; falling back to Debian's cargo and rustc"
        require_root "installing Debian's cargo"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends cargo rustc rustfmt ||
            apt-get install -y --no-install-recommends cargo rustc
        cat >&2 <<'MSG'
warning: installed Debian 12's rustc, which is older than ocirun's dependencies
         need (clap 4.x and others want a recent stable Rust). If the build
         below fails, install a current Rust from https://rustup.rs (or a
         mirror reachable from this machine) and run this script again.
MSG
    fi
    command -v cargo >/dev/null 2>&1 || die "no cargo after installing Rust"
    log "rust: $(cargo --version)"
}

# build_release: a statically linked release binary (glibc and libseccomp linked in),
# so no dynamic loader runs at every start, and not position-independent, so it does not
# relocate itself either (about 50 fewer page faults per start); see docs/benchmarks.md
# and docs/security.md. Prints its path.
# The static flags go to the target only (--target), not to build scripts and proc-macros.
build_release() {
    local host
    host=$(rustc -vV | sed -n 's/^host: //p')
    (cd "$OCIRUN_REPO" &&
        RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" LIBSECCOMP_LINK_TYPE=static \
            LIBSECCOMP_LIB_PATH="$(pkg-config --variable=libdir libseccomp)" \
            cargo build --release --quiet -p ocirun --target "$host") >&2
    echo "$OCIRUN_REPO/target/$host/release/ocirun"
}

build_and_install() {
    log "building ocirun (release, static)"
    local binary
    binary=$(build_release)
    install -D -m 0755 "$binary" /usr/local/bin/ocirun
    log "installed /usr/local/bin/ocirun"
}

# busybox_rootfs DIR: the same layout as tests/common's busybox_rootfs: a
# busybox-static copy at /bin/busybox with a symlink per applet in /bin, the
# directories proc sys dev tmp etc root, and /etc/passwd, /etc/group.
busybox_rootfs() {
    local dir=$1 applet
    [[ -x /bin/busybox ]] || die "/bin/busybox is missing (apt-get install busybox-static)"
    mkdir -p "$dir"/{bin,proc,sys,dev,tmp,etc,root}
    chmod 1777 "$dir/tmp"
    chmod 0700 "$dir/root"
    cp /bin/busybox "$dir/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [[ $applet == busybox || $applet == */* ]] && continue
        [[ -e $dir/bin/$applet || -L $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$dir/etc/group"
}

# True if some mount still mentions $1 (then it must not be rm -rf'ed).
has_mounts_under() {
    grep -qF -- " $1" /proc/self/mountinfo
}

demo() {
    local ocirun=${OCIRUN_BIN:-ocirun}
    local bundle=/tmp/ocirun-demo id="demo-$$"
    command -v "$ocirun" >/dev/null 2>&1 || die "$ocirun not found"
    if [[ -e $bundle ]]; then
        has_mounts_under "$bundle" && die "$bundle has mounts left over; unmount them first"
        rm -rf "$bundle"
    fi
    log "demo: bundle $bundle, container $id"
    busybox_rootfs "$bundle/rootfs"
    (cd "$bundle" && "$ocirun" spec)
    [[ -s $bundle/config.json ]] || die "\`$ocirun spec\` wrote no config.json"
    jq '.process.terminal = false
        | .process.args = ["sh", "-c", "echo hello from inside; hostname; id; cat /proc/self/cgroup | head -3; ls /"]' \
        "$bundle/config.json" >"$bundle/config.json.new"
    mv "$bundle/config.json.new" "$bundle/config.json"

    # shellcheck disable=SC2064 # expand now: the trap must see these values
    trap "'$ocirun' delete --force '$id' >/dev/null 2>&1 || true; \
          grep -qF -- ' $bundle' /proc/self/mountinfo || rm -rf '$bundle'" EXIT
    log "demo: $ocirun run --bundle $bundle $id"
    echo "----- what the container sees -----"
    local rc=0
    timeout 60 "$ocirun" run --bundle "$bundle" "$id" </dev/null || rc=$?
    echo "-----------------------------------"
    [[ $rc -eq 0 ]] || die "the demo container failed (exit $rc)"
    log "demo: OK"
}

main() {
    require_root "scripts/setup.sh"
    [[ -r /etc/debian_version ]] || log "warning: not Debian; package names may differ"
    ensure_packages
    if [[ ${OCIRUN_SKIP_BUILD:-0} != 1 ]]; then
        ensure_rust
        build_and_install
    fi
    if [[ ${OCIRUN_SKIP_DEMO:-0} != 1 ]]; then
        demo
    fi
    log "setup done; run the tests with: bash scripts/test.sh"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
