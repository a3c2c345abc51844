#!/usr/bin/env bash
# Install the Debian packages nvmx needs to build and test. Installs only what
# is missing (running `apt-get update` first only then), so a second run is
# fast. Works as root on Debian 12 without sudo, or through sudo otherwise.
set -euo pipefail

packages=(
  build-essential  # gcc, make
  cmake
  pkg-config
  python3          # tools/genopcodes.py
  binutils         # objcopy (guest images rewrapped as elf32-i386)
  libcapstone-dev  # disassembly in traces, decoder cross-checks
  libunicorn-dev   # differential tests
  libjansson-dev   # configs and traces
  libzstd-dev      # --trace FILE.zst
  check            # unit tests
  chromium         # nvmx report: the render test opens the page headless
  gdb              # the gdb stub test drives it in batch mode
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
