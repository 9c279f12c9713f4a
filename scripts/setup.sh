#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv: idempotent, safe to run before every command.
# On a fresh Debian machine the only system requirement is Python 3.11+ with venv (installed here when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: posture needs Python 3.11 or newer; found $(python3 --version 2>&1)" >&2
    exit 1
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        echo "error: Python's venv module is missing; install it with: sudo apt-get install python3-venv" >&2
        exit 1
    fi
fi
# The servers of the live chain: the demo and the tests start their own Mosquitto and InfluxDB 1.x (Debian's
# packages) on free loopback ports in temporary folders; nothing is configured by hand. Chromium renders the
# post-run report in its browser test.
missing=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v influxd >/dev/null || missing+=(influxdb)
command -v chromium >/dev/null || missing+=(chromium)  # the report's browser test (headless)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "note: ${missing[*]} not installed (sudo apt-get install ${missing[*]}): the demo skips MQTT and" \
            "InfluxDB, and their tests fail" >&2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    rm -f .venv/.installed-* && touch "$stamp"
fi
