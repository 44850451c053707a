#!/usr/bin/env bash
# Everything a fresh clone needs before training or testing; fast and silent when all is in place.
# Run automatically before `npm run train` and `npm test` (npm's pre-scripts).
#   1. npm dependencies (npm ci) when node_modules is missing or older than package-lock.json
#   2. a WebGPU adapter (all `npm run train` needs), and with --browser (before `npm test`) Chromium for
#      the demo's browser test: system packages via scripts/setup-system.sh when either is missing
set -euo pipefail
cd "$(dirname "$0")/.."

need_browser=0
[ "${1:-}" = --browser ] && need_browser=1

# onnxruntime-node (tests only) ships its CPU binaries; its install script would also download CUDA
# extras from outside the npm registry (unreachable here: npm ci fails) wherever npm runs dependency
# scripts (npm 10; newer npm blocks them, and package.json's allowScripts denies this one).
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Training needs an adapter only; Chromium is installed for the tests (--browser) alone.
browser_flag=()
[ "$need_browser" = 1 ] && browser_flag=(--browser)
if ! node scripts/probe-adapter.mjs >/dev/null 2>&1; then
  echo "setup: no WebGPU adapter yet; installing system packages"
  bash scripts/setup-system.sh "${browser_flag[@]}"
elif [ "$need_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "setup: no Chromium for the browser test yet; installing system packages"
  bash scripts/setup-system.sh --browser
fi
