#!/usr/bin/env bash
# Installs what careerlog needs and a fresh machine may lack: the C libraries
# it links (liblz4, libpq), pkg-config to find them, and PostgreSQL for the
# read models and the database tests, and openssl, which makes the TLS tests'
# certificates. Does nothing when all are present.
set -euo pipefail

packages=(liblz4-dev libpq-dev pkg-config postgresql openssl)
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
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
