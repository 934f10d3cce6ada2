#!/usr/bin/env bash
# Installs what careerlog needs and a fresh machine may lack: the C libraries
# it links (liblz4, libpq), pkg-config to find them, PostgreSQL for the read
# models and the database tests, openssl (makes the TLS tests' certificates),
# Chart.js for the dashboard (served from Debian's path: nothing is fetched at
# run time), Chromium for the dashboard's browser tests, and the Python
# modules the window's tests use (prometheus_client parses /metrics,
# websocket-client drives Chromium's DevTools protocol). Does nothing when all
# are present.
set -euo pipefail

packages=(liblz4-dev libpq-dev pkg-config postgresql openssl libjs-chart.js chromium python3-pip netcat-openbsd curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import prometheus_client, websocket' 2>/dev/null; then
  echo "setup: installing prometheus_client and websocket-client (PyPI)" >&2
  python3 -m pip install --quiet prometheus_client websocket-client 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages prometheus_client websocket-client
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
