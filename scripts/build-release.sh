#!/usr/bin/env bash
# Builds the `amdb` binary in one of four release flavours and prints its path.
#
#   scripts/build-release.sh [plain|native|pgo|native-pgo] [cargo build options...]
#
#   plain       the release profile (LTO, one codegen unit): what `cargo build --release` makes
#   native      plus `-C target-cpu=native`: uses every instruction set of this CPU, so the
#               binary may not run on an older one
#   pgo         profile-guided: an instrumented build runs a training workload (the engine
#               benchmark suite on a small data set), and the profile it writes steers the
#               final build's inlining and code layout
#   native-pgo  both
#
# Each flavour gets its own target directory (target/release-<flavour>), so switching does
# not rebuild the others. PGO needs llvm-profdata from the same LLVM as rustc; the
# `llvm-tools` rustup component has it and is installed if missing. BENCHMARKS.md records
# what each flavour measured; the training run's size is PGO_TRAIN_NUM (default 200000).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { printf 'scripts/build-release.sh: %s\n' "$*" >&2; exit 1; }

flavour="${1:-plain}"
[ $# -gt 0 ] && shift
case "$flavour" in
    plain|native|pgo|native-pgo) ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown flavour '$flavour' (expected plain, native, pgo or native-pgo)" ;;
esac

target_dir="${CARGO_TARGET_DIR:-target}/release-$flavour"
flags="${RUSTFLAGS:-}"
case "$flavour" in native*) flags="$flags -C target-cpu=native" ;; esac

build() { # build EXTRA_RUSTFLAGS TARGET_DIR
    RUSTFLAGS="$flags $1" CARGO_TARGET_DIR="$2" cargo build --release -p amdb "${cargo_args[@]}" >&2
}
cargo_args=("$@")

case "$flavour" in
    plain|native)
        build "" "$target_dir"
        ;;
    pgo|native-pgo)
        sysroot="$(rustc --print sysroot)"
        host="$(rustc -vV | sed -n 's/^host: //p')"
        profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
        if [ ! -x "$profdata" ]; then
            printf 'installing the llvm-tools rustup component (llvm-profdata)\n' >&2
            rustup component add llvm-tools >&2 || die "cannot install llvm-tools; PGO needs its llvm-profdata"
        fi
        [ -x "$profdata" ] || die "no llvm-profdata at $profdata"

        profiles="$(mktemp -d)"
        train_db="$(mktemp -d)"
        trap 'rm -rf "$profiles" "$train_db"' EXIT
        printf '[pgo 1/3] instrumented build\n' >&2
        build "-C profile-generate=$profiles" "$target_dir-instrumented"
        printf '[pgo 2/3] training run\n' >&2
        "$target_dir-instrumented/release/amdb" bench engine --dir "$train_db/db" \
            --num "${PGO_TRAIN_NUM:-200000}" --json >/dev/null
        "$profdata" merge -o "$profiles/merged.profdata" "$profiles"/*.profraw
        printf '[pgo 3/3] optimised build\n' >&2
        build "-C profile-use=$profiles/merged.profdata" "$target_dir"
        ;;
esac
printf '%s\n' "$target_dir/release/amdb"
