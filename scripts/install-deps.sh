#!/usr/bin/env bash
# Installs MapInverse's build and run dependencies from Debian, once: packages that are
# already installed are left alone, so running this again costs a second.
set -euo pipefail

packages=(
  build-essential clang cmake ccache pkg-config git
  libtorch-dev libopenblas0-pthread libgloo-dev
  libeigen3-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev
  libpng-dev zlib1g-dev
  dataset-fashion-mnist
  python3-torch
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
