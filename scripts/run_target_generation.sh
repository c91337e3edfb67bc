#!/usr/bin/env bash
# Target generation with the repository's virtual environment; every argument goes to
# `swingml targets` (e.g. --profile grid-2160 --run-dir runs/x --set data.dir=../shared/data/binance).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${repo}/.venv/bin/python"
if [[ ! -x "${python}" ]]; then
  echo "error: ${python} not found; create the virtual environment first (make install)" >&2
  exit 1
fi
exec "${python}" "${repo}/scripts/generate_targets.py" "$@"
