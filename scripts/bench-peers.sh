#!/usr/bin/env bash
# Builds amdb with every peer engine and runs the engine suite against them in one run.
#
#   scripts/bench-peers.sh [amdb bench engine options...]
#
# Examples:
#   scripts/bench-peers.sh                                  # all workloads, all peers, JSON
#   scripts/bench-peers.sh --workload fillseq,readrandom --vs rocksdb,leveldb
#   scripts/bench-peers.sh --value-size 4096 --num 200000
#
# The peers are cargo features of amdb (`--features peers`): RocksDB's and LevelDB's C++
# sources compile here (10-20 minutes the first time on 2 cores), which needs cmake (for
# LevelDB) and libclang (for RocksDB's bindings); both are installed if missing. The binary
# goes to target/peers so it does not replace the default build. Options after the script
# name go to `amdb bench engine`; `--vs` defaults to every peer and `--json` is always on.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { printf 'scripts/bench-peers.sh: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif have sudo; then sudo "$@"; else die "need root to run: $*"; fi
}

missing=()
have cmake || missing+=(cmake)
have g++ || missing+=(g++)
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 \
    || missing+=(libclang-dev)
if [ ${#missing[@]} -gt 0 ]; then
    have apt-get || die "missing ${missing[*]} and apt-get is not available to install them"
    printf 'installing %s\n' "${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/peers}"

# LevelDB 1.22's CMakeLists probes for clang's -Wthread-safety; with GCC and a recent cmake
# the probe wrongly succeeds and every compile then fails on the unknown flag. A compiler
# wrapper that drops that one flag keeps GCC usable.
if [ -z "${CXX:-}" ] && ! c++ -Werror -Wthread-safety -x c++ -c -o /dev/null - </dev/null 2>/dev/null; then
    mkdir -p "$CARGO_TARGET_DIR"
    wrapper="$(cd "$CARGO_TARGET_DIR" && pwd)/cxx-without-thread-safety"
    cat >"$wrapper" <<'WRAP'
#!/usr/bin/env bash
args=()
for a in "$@"; do [ "$a" = -Wthread-safety ] || args+=("$a"); done
exec c++ "${args[@]}"
WRAP
    chmod +x "$wrapper"
    export CXX="$wrapper"
fi
cargo build --release -p amdb --features peers >&2

args=("$@")
case " ${args[*]-} " in
    *" --vs "*) ;;
    *) args+=(--vs rocksdb,leveldb,fjall,redb,sled,lmdb,sqlite) ;;
esac
exec "$CARGO_TARGET_DIR/release/amdb" bench engine --json "${args[@]}"
