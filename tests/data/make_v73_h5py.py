"""Writes the MAT v7.3 test files the way people write them from Python, with h5py (Debian's
python3-h5py): an HDF5 file with a 512-byte MATLAB user block, `X` and `y` in SVHN's shapes, and the
`MATLAB_class` attribute as a fixed-length string. h5py writes np.bytes_('uint8') NULLPAD, where
MATLAB itself writes NULLTERM; both must load.

  python3 tests/data/make_v73_h5py.py tests/data

Pixels follow a formula the tests recompute: X(row, col, c, n) = (7n + 11c + 3row + 5col) % 256, and
y(n) = n % 10 + 1 (so image n is digit n % 10 + 1, with 10 meaning 0).
"""
import os
import sys

import h5py
import numpy as np

COUNT, SIDE = 5, 32


def pixels(count, side):
    n, c, col, row = np.meshgrid(np.arange(count), np.arange(3), np.arange(side), np.arange(side),
                                 indexing='ij')
    # HDF5 holds MATLAB's column-major SxSx3xN array as C-order N x 3 x S(col) x S(row).
    return ((7 * n + 11 * c + 3 * row + 5 * col) % 256).astype(np.uint8)


def set_class(dataset, name, strpad):
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(name) + (strpad == h5py.h5t.STR_NULLTERM))
    tid.set_strpad(strpad)
    space = h5py.h5s.create(h5py.h5s.SCALAR)
    attr = h5py.h5a.create(dataset.id, b'MATLAB_class', tid, space)
    attr.write(np.array(name.encode(), dtype=f'S{tid.get_size()}'), mtype=tid)


def write(path, strpad, **dataset_options):
    with h5py.File(path, 'w', userblock_size=512, libver='earliest') as f:
        x = f.create_dataset('X', data=pixels(COUNT, SIDE), **dataset_options)
        y = f.create_dataset('y', data=(np.arange(COUNT) % 10 + 1).astype(np.float64)[None, :])
        if strpad == 'bytes_':
            x.attrs['MATLAB_class'] = np.bytes_('uint8')  # exactly what the users write
            y.attrs['MATLAB_class'] = np.bytes_('double')
        else:
            set_class(x, 'uint8', strpad)
            set_class(y, 'double', strpad)
    header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: h5py (dcgan tests)'.ljust(116)
    with open(path, 'r+b') as out:
        out.write(header + b'\0' * 8 + (0x0200).to_bytes(2, 'little') + b'IM')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    # NULLPAD (np.bytes_), contiguous; NULLPAD, chunked + gzip with chunks that cut images apart and
    # overhang the edge; MATLAB's NULLTERM, chunked + gzip by whole images.
    write(os.path.join(out, 'h5py_nullpad_v73.mat'), 'bytes_')
    write(os.path.join(out, 'h5py_nullpad_chunked_v73.mat'), 'bytes_', chunks=(2, 2, 16, 12),
          compression='gzip', compression_opts=4)
    write(os.path.join(out, 'h5py_nullterm_chunked_v73.mat'), h5py.h5t.STR_NULLTERM,
          chunks=(2, 3, SIDE, SIDE), compression='gzip')


if __name__ == '__main__':
    main()
