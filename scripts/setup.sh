#!/usr/bin/env bash
# Install lavlive into ./.venv, with the system libraries it needs.
#   bash scripts/setup.sh          # runtime: PortAudio, the Python packages
#   bash scripts/setup.sh --test   # also the test tools: Xvfb + Mesa, PulseAudio, Chromium + chromedriver, pytest
# Safe to run again: it only installs what is missing.
# CPU-only machines: TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash scripts/setup.sh
# takes the small CPU build of torch instead of the default CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

packages=(libportaudio2)
[ "$with_tests" = 1 ] && packages+=(xvfb libgl1 libgl1-mesa-dri libglx-mesa0 pulseaudio pulseaudio-utils libasound2-plugins chromium chromium-driver)

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
apt_install() {
  echo "setup: installing system packages: $*"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

find_python() {
  for candidate in ${PYTHON:-} python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      echo "$candidate"; return
    fi
  done
}
python=$(find_python)
if [ -z "$python" ]; then
  apt_install python3 python3-venv
  python=$(find_python)
  [ -n "$python" ] || { echo "setup: Python 3.10 or newer is needed" >&2; exit 1; }
fi
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=("python$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv")
fi

missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
if [ -n "${TORCH_INDEX_URL:-}" ]; then
  "${pip[@]}" --index-url "$TORCH_INDEX_URL" torch==2.14.1 torchaudio==2.11.1
fi
if [ "$with_tests" = 1 ]; then "${pip[@]}" -e ".[test]"; else "${pip[@]}" -e .; fi
echo "setup: ready ($(.venv/bin/lavlive --version))"
