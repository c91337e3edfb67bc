#!/usr/bin/env bash
# Feature generation with the repository's virtual environment; every argument goes to
# `swingml features` (e.g. --profile real-1h --run-dir runs/x --set features.profile=full).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${repo}/.venv/bin/python"
if [[ ! -x "${python}" ]]; then
  echo "error: ${python} not found; create the virtual environment first (make install)" >&2
  exit 1
fi
exec "${python}" "${repo}/scripts/generate_features.py" "$@"
