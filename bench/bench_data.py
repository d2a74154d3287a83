"""Data-loading benchmark, side by side in one run (scripts/bench.sh runs it; BENCHMARKS.md).

Makes its data on the spot under WORK (default build/bench-data), from a 10,000-image synthetic
SVHN-format set (data/synthetic_train_32x32.mat, made by scripts/make_synthetic_svhn.py when missing),
then times, each in a fresh process:
  - MAT v5 (zlib-compressed, written by scipy.io.savemat), 73,257 images: dcgan vs scipy.io.loadmat;
  - MAT v7.3 (h5py, gzip chunks, MATLAB_class as np.bytes_ i.e. NULLPAD): dcgan vs h5py;
  - a 20,000-image folder of 64x64 PNGs and JPEGs in 10 class subfolders: dcgan's first load (no
    cache) and cached load vs one pass of torchvision's ImageFolder + DataLoader(num_workers=2).
Prints one JSON line per run, then a Markdown table of medians.

  /usr/bin/python3 bench/bench_data.py BENCH_BINARY [--repeats 3] [--work DIR]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
SOURCE = os.path.join(ROOT, 'data', 'synthetic_train_32x32.mat')
COUNT = 73257
FOLDER_IMAGES = 20000


def synthetic_set():
    import scipy.io
    if not os.path.exists(SOURCE):
        subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'make_synthetic_svhn.py'),
                        SOURCE, '10000', '1'], check=True)
    m = scipy.io.loadmat(SOURCE)
    return m['X'], m['y']


def make_mats(work):
    v5 = os.path.join(work, f'svhn_{COUNT}_v5z.mat')
    v73 = os.path.join(work, f'svhn_{COUNT}_v73.mat')
    if os.path.exists(v5) and os.path.exists(v73):
        return v5, v73
    import h5py
    import scipy.io
    x, y = synthetic_set()
    reps = -(-COUNT // x.shape[3])
    X = np.tile(x, (1, 1, 1, reps))[:, :, :, :COUNT]
    Y = np.tile(y, (reps, 1))[:COUNT].astype(np.float64)
    scipy.io.savemat(v5 + '.partial', {'X': X, 'y': Y}, do_compression=True, format='5')
    os.replace(v5 + '.partial', v5)
    with h5py.File(v73 + '.partial', 'w', userblock_size=512) as f:
        # MATLAB's SxSx3xN column-major is C-order N x 3 x S x S; chunks of whole images.
        xs = f.create_dataset('X', data=np.ascontiguousarray(X.transpose(3, 2, 1, 0)),
                              compression='gzip', chunks=(256, 3, 32, 32))
        ys = f.create_dataset('y', data=Y.T)
        xs.attrs['MATLAB_class'] = np.bytes_('uint8')
        ys.attrs['MATLAB_class'] = np.bytes_('double')
    with open(v73 + '.partial', 'r+b') as out:
        out.write(b'MATLAB 7.3 MAT-file, written by bench_data.py'.ljust(116) + b'\0' * 8 +
                  (0x0200).to_bytes(2, 'little') + b'IM')
    os.replace(v73 + '.partial', v73)
    return v5, v73


def make_folder(work):
    folder = os.path.join(work, f'folder_{FOLDER_IMAGES}_64')
    if os.path.exists(folder):
        return folder
    from PIL import Image
    x, y = synthetic_set()
    partial = folder + '.partial'
    shutil.rmtree(partial, ignore_errors=True)
    for d in range(10):
        os.makedirs(os.path.join(partial, str(d)))
    for i in range(FOLDER_IMAGES):
        k = i % x.shape[3]
        image = Image.fromarray(np.ascontiguousarray(x[:, :, :, k])).resize((64, 64), Image.BICUBIC)
        digit = int(y[k, 0]) % 10
        name = os.path.join(partial, str(digit), f'{i:05d}')
        if i % 2:
            image.save(name + '.jpg', quality=90)
        else:
            image.save(name + '.png')
    os.replace(partial, folder)
    return folder


def run(command):
    """Runs `command`, returning its JSON output line (or {}) and the wall time of the process."""
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    lines = [line for line in out.splitlines() if line.startswith('{')]
    return (json.loads(lines[-1]) if lines else {}), wall


def python_child(code, *args):
    return run([sys.executable, '-c', code, *args])


# Each child times the load alone (imports done first) and reports its CPU time, the DataLoader's
# worker processes included: on a busy machine CPU seconds are the steadier measure.
SCIPY = '''
import json, resource, sys, time
import scipy.io
start, cpu = time.perf_counter(), time.process_time()
m = scipy.io.loadmat(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                  "images": int(m["X"].shape[3]),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''
H5PY = '''
import json, resource, sys, time
import h5py
start, cpu = time.perf_counter(), time.process_time()
with h5py.File(sys.argv[1], "r") as f:
    X = f["X"][()]
    y = f["y"][()]
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                  "images": int(X.shape[0]),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''
TORCHVISION = '''
import json, resource, sys, time
import torch, torchvision
from torchvision import transforms
start, cpu = time.perf_counter(), time.process_time()
data = torchvision.datasets.ImageFolder(sys.argv[1], transform=transforms.ToTensor())
loader = torch.utils.data.DataLoader(data, batch_size=128, num_workers=2)
n = 0
it = iter(loader)
for images, labels in it:
    n += images.shape[0]
seconds = time.perf_counter() - start
del it  # joins the workers, so their CPU time is counted below
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "images": n,
                  "cpu_seconds": time.process_time() - cpu + children.ru_utime + children.ru_stime}))
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('bench')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--work', default='build/bench-data')
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    v5, v73 = make_mats(args.work)
    folder = make_folder(args.work)
    cache = os.path.join(args.work, 'folder-cache')
    rows = {}

    def record(name, result, wall):
        result['process_seconds'] = wall
        print(json.dumps({'case': name, **result}), flush=True)
        rows.setdefault(name, []).append(result)

    for _ in range(args.repeats):
        # Interleaved, so a change in machine load hits every implementation alike.
        record('mat v5: dcgan', *run([args.bench, '--load', v5]))
        record('mat v5: scipy.io.loadmat', *python_child(SCIPY, v5))
        record('mat v7.3: dcgan', *run([args.bench, '--load', v73]))
        record('mat v7.3: h5py', *python_child(H5PY, v73))
        shutil.rmtree(cache, ignore_errors=True)
        record('folder: dcgan first load', *run([args.bench, '--load', folder, '--image-size', '64',
                                                 '--cache-dir', cache]))
        record('folder: dcgan cached load', *run([args.bench, '--load', folder, '--image-size',
                                                  '64', '--cache-dir', cache]))
        record('folder: torchvision ImageFolder + DataLoader(2 workers)',
               *python_child(TORCHVISION, folder))

    med = lambda name, key: statistics.median(r.get(key, float('nan')) for r in rows[name])
    print()
    print(f'{os.cpu_count()} CPUs; medians of {args.repeats} runs, each a fresh process. "load" is '
          'the loader call alone; "process" the whole process, start-up included.')
    print()
    print('| case | load s | load CPU s | process s | peak RSS MiB | images |')
    print('|---|---:|---:|---:|---:|---:|')
    for name in rows:
        peak = med(name, 'peak_rss_mib_after') if 'peak_rss_mib_after' in rows[name][0] else \
            med(name, 'peak_rss_mib')
        print(f'| {name} | {med(name, "seconds"):.3f} | {med(name, "cpu_seconds"):.3f} | '
              f'{med(name, "process_seconds"):.3f} | '
              f'{peak:.0f} | {rows[name][0].get("images", "")} |')
    ratio = lambda a, b, key='seconds': med(a, key) / med(b, key)
    print()
    print(f'MAT v5: dcgan / scipy = {ratio("mat v5: dcgan", "mat v5: scipy.io.loadmat"):.2f}x '
          f'wall, {ratio("mat v5: dcgan", "mat v5: scipy.io.loadmat", "cpu_seconds"):.2f}x CPU '
          '(target <= 0.5x)')
    print(f'MAT v7.3: dcgan / h5py = {ratio("mat v7.3: dcgan", "mat v7.3: h5py"):.2f}x wall '
          '(target <= 1x)')
    tv = 'folder: torchvision ImageFolder + DataLoader(2 workers)'
    print(f'folder first load: torchvision / dcgan = '
          f'{ratio(tv, "folder: dcgan first load"):.2f}x faster wall, '
          f'{ratio(tv, "folder: dcgan first load", "cpu_seconds"):.2f}x less CPU (target >= 2x); '
          f'cached load '
          f'{med("folder: dcgan cached load", "seconds"):.3f} s (target < 1 s)')
    d = [r.get('describe_seconds', 0) for r in rows['mat v5: dcgan']]
    print(f'inspect statistics on {COUNT} images: {statistics.median(d):.3f} s')


if __name__ == '__main__':
    main()
