#!/usr/bin/env bash
# Headless Chromium for the report's browser test (tests/report): Debian's `chromium` package.
# Idempotent and quick when it is there already. Playwright drives it via `executable_path`
# (its own browser download cannot be used offline). Where apt-get is unavailable or we are not
# root, it only says so: the browser test then fails under CI and skips elsewhere.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != "0" ]; then
    echo "install-chromium: chromium is missing and apt-get (as root) is not available" >&2
    exit 0
fi
echo "install-chromium: installing Debian's chromium (once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
