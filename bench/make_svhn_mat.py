"""Writes an SVHN-format MAT v5 file (uncompressed) of N random 32x32 RGB images with labels 1-10,
with numpy alone, for timing runs on machines without scipy (scripts/gpu_check.sh).
  python3 bench/make_svhn_mat.py OUT.mat N [SEED]
"""
import struct
import sys

import numpy as np

MI_INT8, MI_UINT8, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX = 1, 2, 5, 6, 9, 14
MX_DOUBLE_CLASS, MX_UINT8_CLASS = 6, 9


def element(data_type, payload):
    padding = (8 - len(payload) % 8) % 8
    return struct.pack('<II', data_type, len(payload)) + payload + b'\0' * padding


def matrix(name, array, data_type, mx_class):
    # MATLAB stores column-major: write the array's Fortran-order bytes.
    body = (element(MI_UINT32, struct.pack('<II', mx_class, 0)) +
            element(MI_INT32, struct.pack('<' + 'i' * array.ndim, *array.shape)) +
            element(MI_INT8, name.encode()) +
            element(data_type, np.asfortranarray(array).tobytes(order='F')))
    return element(MI_MATRIX, body)


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    x = rng.integers(0, 256, size=(32, 32, 3, count), dtype=np.uint8)
    y = rng.integers(1, 11, size=(count, 1)).astype(np.float64)
    header = b'MATLAB 5.0 MAT-file, written by dcgan bench/make_svhn_mat.py'.ljust(116)
    with open(path, 'wb') as out:
        out.write(header + b'\0' * 8 + struct.pack('<H', 0x0100) + b'IM')
        out.write(matrix('X', x, MI_UINT8, MX_UINT8_CLASS))
        out.write(matrix('y', y, MI_DOUBLE, MX_DOUBLE_CLASS))


if __name__ == '__main__':
    main()
