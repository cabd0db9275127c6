# Sourced by the peer install scripts: `source venv.sh "$@"` checks the one argument (the venv folder),
# finds the interpreter (PYTHON, default python3.11), clears the folder's .installed marker and creates
# (or reuses) the venv. Sets VENV and PY; the caller installs, then touches "$VENV/.installed".
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 VENV_DIR   (e.g. bench/.venvs/$(basename "$0" .sh))" >&2
    exit 2
fi
VENV="$1"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || { echo "error: $PY not found (the peer venvs need Python 3.11; set PYTHON=...)" >&2; exit 1; }
rm -f "$VENV/.installed"
"$PY" -m venv "$VENV"
