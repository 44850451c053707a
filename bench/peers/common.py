"""What the Python peers of `npm run bench` share: MNIST read from IDX files, the epoch loop and its
timing, which BLAS the process really loaded, and the one JSON line each peer prints for bench/speed.ts.

The workload is the default of `npm run train`: 784-256-128-10 ReLU, dropout 0.2 on the hidden layers,
softmax cross-entropy, Adam (lr 1e-3), batch 128, the first 50,000 images of MNIST's training file
(the last 10,000 are the validation set), a seeded shuffle per epoch. Each step builds its batch by
indexing the float32 training set (converted once, before any timing), as a practitioner would.
An epoch's time covers its training steps only; validation is timed separately.
"""
import argparse
import ctypes
import gzip
import json
import os
import platform
import statistics
import struct
import sys
import time

import numpy as np

LAYERS = (784, 256, 128, 10)
DROPOUT = 0.2
LR = 1e-3
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--data-dir', required=True, help='directory with the IDX files (train-images-idx3-ubyte ...)')
    parser.add_argument('--epochs', type=int, default=3, help='epochs to time (the first is reported as warm-up)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--validation', type=int, default=10_000, help='last N images of the training file held out')
    parser.add_argument('--eval-batch-size', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--threads', type=int, default=0, help="NumPy: OpenBLAS threads; PyTorch: intra-op threads (0: the library's default)")
    # The workload (default: the default model of `npm run train`); bench/speed.ts --workload sets them.
    parser.add_argument('--layers', default=','.join(map(str, LAYERS)), help='layer widths, comma-separated')
    parser.add_argument('--dropout', type=float, default=DROPOUT, help='dropout after each hidden layer')
    parser.add_argument('--optimizer', choices=('adam', 'sgd'), default='adam')
    parser.add_argument('--lr', type=float, default=LR)
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu', help='PyTorch only: where the model trains')
    args = parser.parse_args()
    args.layers = tuple(int(w) for w in args.layers.split(','))
    return args


def read_idx(path):
    """An unsigned-byte IDX array (magic 0x0000080N, N dimensions, big-endian u32 sizes), plain or gzipped."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    (magic,) = struct.unpack('>I', data[:4])
    if magic >> 8 != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file (magic {magic:#010x})')
    ndim = magic & 0xFF
    dims = struct.unpack(f'>{ndim}I', data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_idx(data_dir, name):
    for candidate in (name, name + '.gz'):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(os.path.join(data_dir, name))


def load_mnist(data_dir, validation):
    """(x_train f32 [N, 784] in [0, 1], y_train int64 [N]), and the same for validation."""
    images = read_idx(find_idx(data_dir, 'train-images-idx3-ubyte'))
    labels = read_idx(find_idx(data_dir, 'train-labels-idx1-ubyte')).astype(np.int64)
    x = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255)
    n = x.shape[0] - validation
    return (x[:n], labels[:n]), (x[n:], labels[n:])


def loaded_libraries(*needles):
    """Paths of the shared libraries mapped into this process whose names contain one of `needles`."""
    with open('/proc/self/maps') as maps:
        paths = {line.split()[-1] for line in maps if line.rstrip().endswith('.so') or '.so.' in line}
    return sorted(p for p in paths if any(n in os.path.basename(p) for n in needles))


def openblas():
    """(get_config, get_num_threads, set_num_threads) of the OpenBLAS this process loaded, or None.
    Debian's library exports openblas_*; the one inside NumPy's pip wheels scipy_openblas_*64_."""
    for path in loaded_libraries('openblas'):
        lib = ctypes.CDLL(path)
        for prefix, suffix in (('openblas_', ''), ('scipy_openblas_', '64_')):
            try:
                functions = [getattr(lib, f'{prefix}{name}{suffix}') for name in ('get_config', 'get_num_threads', 'set_num_threads')]
            except AttributeError:
                continue
            functions[0].restype = ctypes.c_char_p
            return functions
    return None


def blas_info():
    """Which BLAS this process really runs (not what the build says: Debian links the generic libblas.so.3,
    an alternatives link) and how many threads it uses."""
    info = {'libraries': loaded_libraries('blas', 'lapack', 'mkl', 'gomp')}
    if any(os.path.basename(p) == 'libblas.so.3' for p in info['libraries']):
        info['libblas.so.3'] = os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')  # Debian's alternatives link
    functions = openblas()
    if functions:
        get_config, get_num_threads, _ = functions
        info['name'] = 'OpenBLAS'
        info['config'] = get_config().decode()
        info['threads'] = get_num_threads()
    elif any('libblas.so' in os.path.basename(p) for p in info['libraries']):
        info['name'] = 'reference BLAS (slow: install libopenblas0-pthread)'
    return info


def median(values):
    return statistics.median(values) if values else None


def run(name, version, make_trainer, extra_info=dict):
    """Trains `epochs` epochs with the trainer `make_trainer(args, rng)` returns and prints the JSON report
    (with the fields `extra_info()` adds).

    The trainer has train_step(x, y) -> (loss_sum, correct) and evaluate(x, y, batch) -> (loss_sum, correct).
    """
    args = parse_args(f'{name} peer of `npm run bench`')
    (x_train, y_train), (x_val, y_val) = load_mnist(args.data_dir, args.validation)
    rng = np.random.default_rng(args.seed)
    trainer = make_trainer(args, rng)
    n, batch = x_train.shape[0], args.batch_size
    steps = (n + batch - 1) // batch
    epochs = []
    for _ in range(args.epochs):
        order = rng.permutation(n)
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        cpu_start = time.process_time()  # all threads of the process (OpenBLAS's included)
        for s in range(steps):
            idx = order[s * batch : (s + 1) * batch]
            step_loss, step_correct = trainer.train_step(x_train[idx], y_train[idx])
            loss_sum += step_loss
            correct += step_correct
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        start = time.perf_counter()
        val_loss, val_correct = trainer.evaluate(x_val, y_val, args.eval_batch_size)
        eval_seconds = time.perf_counter() - start
        epochs.append({
            'seconds': seconds,
            'cpuSeconds': cpu_seconds,
            'evalSeconds': eval_seconds,
            'trainLoss': loss_sum / n,
            'trainAccuracy': correct / n,
            'valLoss': val_loss / len(y_val),
            'valAccuracy': val_correct / len(y_val),
        })
    measured = [e['seconds'] for e in epochs[1:]] or [epochs[0]['seconds']]
    report = {
        'peer': name,
        'version': version,
        'python': platform.python_version(),
        'numpy': np.__version__,
        'blas': blas_info(),
        'batchSize': batch,
        'trainCount': n,
        'stepsPerEpoch': steps,
        'epochs': epochs,
        'medianEpochSeconds': median(measured),
        'medianEvalSeconds': median([e['evalSeconds'] for e in epochs]),
        **extra_info(),
    }
    json.dump(report, sys.stdout)
    sys.stdout.write('\n')
