"""PyTorch's float32 matrix product at given shapes, for `npm run bench:gpu`: C[M, N] = A[M, K] @ B[K, N],
timed on the CPU (OpenBLAS or whatever PyTorch links) or on CUDA when present (TF32 off: plain FP32).
Run: /usr/bin/python3 bench/peers/torch_matmul.py [--device cuda] MxKxN ...   Prints one JSON line.
"""
import argparse
import json
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
parser.add_argument('--seconds', type=float, default=0.5, help='time aimed at per shape')
parser.add_argument('shapes', nargs='+')
args = parser.parse_args()
device = torch.device(args.device if args.device == 'cpu' or torch.cuda.is_available() else 'cpu')
if device.type == 'cuda':
    torch.backends.cuda.matmul.allow_tf32 = False
sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
results = []
for shape in args.shapes:
    m, k, n = (int(v) for v in shape.split('x'))
    a = torch.randn(m, k, device=device)
    b = torch.randn(k, n, device=device)
    torch.mm(a, b)
    sync()
    start = time.perf_counter()
    torch.mm(a, b)
    sync()
    once = max(time.perf_counter() - start, 1e-6)
    reps = max(1, min(1000, int(args.seconds / once)))
    start = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    sync()
    seconds = (time.perf_counter() - start) / reps
    results.append({'shape': shape, 'ms': seconds * 1e3, 'gflops': 2 * m * k * n / seconds / 1e9})
print(json.dumps({
    'version': torch.__version__,
    'device': torch.cuda.get_device_name(0) if device.type == 'cuda' else 'cpu',
    'threads': torch.get_num_threads(),
    'results': results,
}))
