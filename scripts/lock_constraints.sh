#!/usr/bin/env bash
# Regenerate constraints.txt, the lock the README's install command uses, from a fresh resolve:
#   PYTHON=/usr/bin/python3 bash scripts/lock_constraints.sh
# Resolve on the oldest Python the lock must serve (here Debian 12's 3.11.2): some releases need a newer 3.11.x
# (soupsieve 4.x needs 3.11.5), and pip on a newer Python installs what an older one resolved, not the reverse.
# It installs the project (with its dev extras) into a throw-away virtual environment with only the CPU torch
# pinned, as of today's package index, and writes every distribution that install brought in at the version it
# got. Then re-run `pytest && pytest --nbval notebooks/`, re-record the notebooks whose outputs moved, and commit
# constraints.txt with them (README: "Upgrading the lock").
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH="torch==2.13.0"   # the CPU build: a torch that pip may choose freely is a multi-GB CUDA build
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q "$TORCH"
echo "$TORCH" > "$tmp/torch.txt"
"$tmp/venv/bin/pip" install -q -c "$tmp/torch.txt" -e ".[dev]"
{
  echo "# The lock: every distribution \`pip install -c constraints.txt -e \".[dev]\"\` installs, at the version the"
  echo "# notebooks were recorded with. Made by scripts/lock_constraints.sh from a fresh resolve on $(date -u +%Y-%m-%d)"
  echo "# with Python $("$tmp/venv/bin/python" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))'); tests/test_packaging.py checks that it covers what is installed."
  echo "# torch is the CPU build: anything that lets pip choose a newer torch pulls a multi-GB CUDA build."
  echo "# GPU users: install the CUDA build of torch first (see README), then install without this file."
  # a local version label (torch 2.13.0+cpu) is dropped: == 2.13.0 matches the CPU and the PyPI build alike
  # --all keeps setuptools (torch needs it); pip itself is the installer, not a dependency
  "$tmp/venv/bin/pip" freeze --all --exclude-editable | grep -v "^pip==" | sed -E "s/^([^=]+==[^+]+)\+.*/\1/" | LC_ALL=C sort -f
} > constraints.txt
echo "wrote constraints.txt: $(grep -c '==' constraints.txt) pinned distributions"
