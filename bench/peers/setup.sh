#!/usr/bin/env bash
# Creates bench/peers/.venv and installs bench/peers/requirements.txt into it, once.
#
# Idempotent: when the venv exists and was last installed from the same requirements.txt
# (a SHA-256 stamp inside the venv) and its packages are there, it does nothing and returns
# in well under a second. Changing requirements.txt reinstalls.
#
# stdout: one line, the venv's python interpreter (so `PY=$(bench/peers/setup.sh)` works);
# everything else goes to stderr.
#
# Environment: PYTHON picks the interpreter that creates the venv (default python3; vectorbt
# 1.2 needs Python >= 3.11).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
py="$venv/bin/python"
base_python="${PYTHON:-python3}"

want="$(sha256sum "$req" | cut -d' ' -f1)"

modules='talib numpy pandas pyarrow polars vectorbt numba'

ready() {
    # find_spec only locates the packages (importing vectorbt alone takes seconds).
    [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
        "$py" -c 'import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))' $modules 2>/dev/null
}

if ready; then
    echo "peers venv ready: $venv" >&2
    echo "$py"
    exit 0
fi

if ! "$base_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "setup.sh: $base_python is $("$base_python" --version 2>&1); the peers need Python >= 3.11 (set PYTHON=...)" >&2
    exit 1
fi

if [[ ! -x "$py" ]]; then
    echo "creating $venv with $("$base_python" --version 2>&1)" >&2
    "$base_python" -m venv "$venv"
fi

echo "installing $req (a few minutes the first time)" >&2
rm -f "$stamp"
"$py" -m pip install --quiet -r "$req" >&2
"$py" -c 'import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]' $modules >&2
echo "$want" >"$stamp"

echo "peers venv ready: $venv" >&2
echo "$py"
