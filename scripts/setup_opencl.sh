#!/usr/bin/env bash
# The OpenCL runtime the GPU tests need on a machine without a GPU: PoCL (an OpenCL driver that
# runs kernels on the CPU) and the ICD loader LightGBM's OpenCL build links against. Idempotent and
# fast when already installed; `make test` calls it. Needs root (or sudo) and Debian/Ubuntu's apt.
set -euo pipefail
packages=(ocl-icd-libopencl1 pocl-opencl-icd)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${package}")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the GPU tests need ${missing[*]} (PoCL OpenCL on the CPU); install them with your" \
    "package manager" >&2
  exit 1
fi
sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! ${sudo} apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
  ${sudo} apt-get update -q >/dev/null
  ${sudo} apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "installed ${missing[*]}"
