#!/usr/bin/env bash
# System packages for webgpu-mlp on Debian/Ubuntu (needs root). Does nothing when what was asked for
# is in place. Without a GPU, Dawn needs the Vulkan loader and Mesa's software Vulkan driver
# (lavapipe); bookworm's own Mesa 22.3 is rejected by Dawn, so on bookworm it comes from backports.
# Chromium is the browser the demo's end-to-end test drives (test/browser/): only tests need it.
#
#   scripts/setup-system.sh             Vulkan loader + lavapipe (what training needs)
#   scripts/setup-system.sh --browser   also Chromium (what the tests need; `npm test` asks for it)
#   scripts/setup-system.sh --bench     also NumPy and PyTorch with OpenBLAS, the peers `npm run bench` compares with
set -euo pipefail
cd "$(dirname "$0")/.."

want_bench=0
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --browser) want_browser=1 ;;
    *) echo "setup-system: unknown option $arg (expected --browser or --bench)" >&2; exit 2 ;;
  esac
done

say() { echo "setup-system: $*"; }

adapter_works() {
  if [ -d node_modules/webgpu ]; then
    node scripts/probe-adapter.mjs >/dev/null 2>&1
  else
    # Before `npm ci` we cannot ask Dawn; judge by the installed Vulkan driver instead.
    local mesa
    ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || return 1
    if ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | grep -qiE 'nvidia|radeon|intel'; then return 0; fi
    mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
    [ -n "$mesa" ] && dpkg --compare-versions "$mesa" ge 23
  fi
}

chromium_present() {
  [ "$want_browser" = 0 ] || [ -x /usr/bin/chromium ]
}

bench_packages_present() {
  [ "$want_bench" = 0 ] && return 0
  /usr/bin/python3 -c 'import numpy, torch' >/dev/null 2>&1 && ldconfig -p | grep -q libopenblas
}

if adapter_works && chromium_present && bench_packages_present; then
  say "a WebGPU adapter works$([ "$want_browser" = 1 ] && echo ', Chromium is installed')$([ "$want_bench" = 1 ] && echo ', the benchmark peers are installed'); nothing to do"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -E bash "$0" "$@"
  fi
  echo "setup-system: needs root to install system packages; run: sudo bash scripts/setup-system.sh $*" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-system: no apt-get here. Install a Vulkan loader and a Vulkan driver (Mesa >= 23 lavapipe without a GPU), and Chromium (the browser test expects /usr/bin/chromium, or set CHROMIUM_PATH), with your system's package manager." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. /etc/os-release
mesa_target=()
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  if [ ! -f /etc/apt/sources.list.d/backports.sources ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "adding bookworm-backports (for Mesa 25's lavapipe)"
    cat > /etc/apt/sources.list.d/backports.sources <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  fi
  mesa_target=(-t bookworm-backports)
fi

say "apt-get update"
apt-get update -qq
if ! adapter_works; then
  say "installing the Vulkan loader and Mesa's lavapipe"
  apt-get install -y -qq --no-install-recommends libvulkan1 >/dev/null
  apt-get install -y -qq --no-install-recommends "${mesa_target[@]}" mesa-vulkan-drivers >/dev/null
fi
if ! chromium_present; then
  say "installing Chromium (the demo's browser test drives it)"
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ "$want_bench" = 1 ]; then
  say "installing NumPy and PyTorch with OpenBLAS (benchmark peers)"
  apt-get install -y -qq --no-install-recommends python3-numpy python3-torch libopenblas0-pthread >/dev/null
fi

if adapter_works; then
  say "done: $( [ -d node_modules/webgpu ] && node scripts/probe-adapter.mjs || echo 'Vulkan driver installed')"
else
  echo "setup-system: packages installed but still no WebGPU adapter; see README (Getting a WebGPU adapter)" >&2
  exit 1
fi
