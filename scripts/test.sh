#!/usr/bin/env bash
# AmDb's one test command: formatting, lints and every test of the workspace.
#
#   scripts/test.sh
#
# Works on a fresh machine that has only the Rust toolchain: it installs whatever else the
# tests need first (see "Prerequisites"). Respects CARGO_TARGET_DIR and other cargo settings.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root (directly, or through sudo when available).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

# ensure_apt_package COMMAND PACKAGE: installs Debian/Ubuntu PACKAGE unless COMMAND exists.
# Later issues use it for their tools, e.g. `ensure_apt_package psql postgresql`.
APT_UPDATED=0
ensure_apt_package() {
    local cmd=$1 pkg=$2
    have "$cmd" && return 0
    have apt-get || die "$cmd is missing and apt-get is not available to install $pkg"
    step "installing $pkg (for $cmd)"
    if [ "$APT_UPDATED" -eq 0 ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    have "$cmd" || die "installed $pkg but $cmd is still not on PATH"
}

# ensure_rust_component NAME: rustfmt and clippy come with most toolchains; add them if not.
ensure_rust_component() {
    local name=$1 probe=$2
    cargo "$probe" --version >/dev/null 2>&1 && return 0
    have rustup || die "cargo $probe is missing and rustup is not available to add $name"
    step "adding Rust component $name"
    rustup component add "$name"
}

# ---- Prerequisites ----
have cargo || die "cargo not found: install the Rust toolchain (rustup) first"
ensure_rust_component rustfmt fmt
ensure_rust_component clippy clippy
# amdb-tune's tests spawn a real PostgreSQL: its server programs (Debian keeps initdb and
# pg_ctl in /usr/lib/postgresql/<major>/bin, off PATH) and the psql and pgbench clients.
if ! { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb; } || ! have pgbench; then
    have apt-get || die "PostgreSQL (initdb, pgbench) is missing and apt-get is not available to install it"
    step "installing postgresql (for amdb-tune's tests)"
    as_root apt-get update -qq
    APT_UPDATED=1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# ---- Checks ----
step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace"
cargo test --workspace

step "all checks passed"
