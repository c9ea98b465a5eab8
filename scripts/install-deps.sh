#!/usr/bin/env bash
# Installs the system packages Candor builds against, if any is missing:
#   libopenblas-dev  OpenBLAS, for every matrix product (Package.swift's COpenBLAS target)
#   pkg-config       how SwiftPM finds OpenBLAS, libpng and libjpeg (`pkg-config openblas`)
#   libpng-dev       libpng, for reading and writing PNG images (CLibPNG, CandorImage)
#   libjpeg-dev      libjpeg (libjpeg-turbo on Debian), for reading JPEG images (CLibJPEG)
#   zlib1g-dev       zlib, libpng's compression (linked through `pkg-config libpng`)
# Packages named as arguments are installed too when missing (test-page.sh asks for chromium
# and chromium-driver this way).
# Debian/Ubuntu only (apt-get). Uses sudo only when not running as root. Does nothing when
# all are already installed, so it is cheap to call before every build or test run.
set -euo pipefail

packages=(libopenblas-dev pkg-config libpng-dev libjpeg-dev zlib1g-dev "$@")
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing ${missing[*]}, and apt-get is not available: install them (OpenBLAS, pkg-config, libpng, libjpeg and zlib development files) with your system's package manager" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
