#!/usr/bin/env bash
# Create (or update) a virtual environment with aws-copy-pt installed.
#   ./venv_create.sh            -> .venv with the tool and its offline demo
#   ./venv_create.sh --dev      -> also the test, lint and type-check tools
#   ./venv_create.sh [--dev] DIR
# Safe to run again: an existing venv is reused and brought up to date.
set -euo pipefail

dev=0
venv=""
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "venv_create.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
        *) venv="$arg" ;;
    esac
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${venv:-$here/.venv}"

# Pick the first interpreter that is Python >= 3.11.
python=""
for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    found="$(python3 --version 2>&1 || echo 'no python3')"
    echo "venv_create.sh: aws-copy-pt needs Python 3.11 or newer; found: $found." >&2
    echo "Install a newer Python (e.g. 'module load python/3.11' on HPC) or set PYTHON=/path/to/python3.11." >&2
    exit 1
fi

if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "venv_create.sh: $venv holds an older Python; remove it (rm -rf '$venv') and run again." >&2
    exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

# pip's and setuptools' chatter goes to a log that is shown only when something fails.
log="$(mktemp "${TMPDIR:-/tmp}/aws-copy-pt-install.XXXXXX")"
trap 'rm -f "$log"' EXIT
install() {
    if ! "$venv/bin/python" -m pip install --quiet "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "venv_create.sh: 'pip install $*' failed (output above); fix the cause and run again." >&2
        exit 1
    fi
}
extras="sandbox"
[ "$dev" = 1 ] && extras="sandbox,dev"
what="aws-copy-pt"
[ "$dev" = 1 ] && what="aws-copy-pt and its development tools"
echo "Installing $what into $venv (a minute or two the first time) ..."
install --upgrade pip
install --editable "$here[$extras]"
# Compile the package's bytecode now: an editable install otherwise compiles it on first use, and
# never when the checkout is read-only to the user (a shared install) or PYTHONDONTWRITEBYTECODE
# is set - then every command would compile it again (~30 ms of start-up).
if ! "$venv/bin/python" -m compileall -q "$here/aws_copy_pt" >"$log" 2>&1; then
    cat "$log" >&2
    echo "venv_create.sh: warning: could not compile aws_copy_pt's bytecode; it works, starting a little slower." >&2
fi

rel="$venv"
case "$venv" in "$PWD"/*) rel="${venv#"$PWD"/}" ;; esac
echo "aws-copy-pt $("$venv/bin/aws-copy-pt" --version | awk '{print $NF}') is installed in $rel."
if [ "$dev" = 1 ]; then
    echo "Next: $rel/bin/pytest"
else
    echo "Next: $rel/bin/aws-copy-pt demo     (then: $rel/bin/aws-copy-pt --help)"
fi
