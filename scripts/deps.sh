#!/usr/bin/env bash
# Installs the Debian packages recnas needs, only those missing. Idempotent; uses sudo only
# when not root.
set -euo pipefail
pkgs=(g++ cmake make ccache libeigen3-dev libxsimd-dev xtl-dev libtbb-dev
      doctest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "recnas: installing missing packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
