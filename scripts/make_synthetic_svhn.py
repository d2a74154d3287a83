#!/usr/bin/env python3
"""Synthetic house-number crops in SVHN's format, for trying dcgan without the real data.

  scripts/make_synthetic_svhn.py OUT.mat COUNT SEED [--size S]

Writes a MAT v5 file (zlib-compressed, as SVHN's own) with X, uint8 S x S x 3 x COUNT (column-major,
as MATLAB stores it), and y, COUNT x 1 doubles where 10 means the digit 0, exactly as
train_32x32.mat. Each crop shows a digit centred on a plate, as SVHN's cropped digits do: the digit
is the label, and parts of its neighbours on the plate may show at the sides. Plates vary in colour,
contrast, stroke width, slant, size, position, lighting, blur and noise. The same SEED gives the same
file; --size (default 32) renders the same scenes at any side, e.g. 64.

Needs only Python 3 and NumPy (Debian: python3-numpy).
"""
import argparse
import struct
import zlib

import numpy as np

# Each digit as strokes (polylines) in a box of width 0.6 and height 1, y down. Arcs are sampled.


def _arc(cx, cy, rx, ry, start, end, steps=10):
    angles = np.radians(np.linspace(start, end, steps))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


GLYPHS = {
    0: [_arc(0.3, 0.5, 0.28, 0.48, 0, 360, 24)],
    1: [[(0.12, 0.22), (0.34, 0.02), (0.34, 0.98)], [(0.12, 0.98), (0.54, 0.98)]],
    2: [_arc(0.3, 0.28, 0.26, 0.26, 190, 360, 10) + [(0.56, 0.36), (0.04, 0.98), (0.58, 0.98)]],
    3: [_arc(0.3, 0.26, 0.25, 0.24, 200, 450, 12), _arc(0.3, 0.73, 0.28, 0.25, -90, 160, 12)],
    4: [[(0.46, 0.98), (0.46, 0.02), (0.02, 0.7), (0.6, 0.7)]],
    5: [[(0.54, 0.02), (0.1, 0.02), (0.06, 0.46)] + _arc(0.3, 0.68, 0.28, 0.3, -120, 150, 12)],
    6: [_arc(0.3, 0.7, 0.27, 0.28, 0, 360, 20), [(0.04, 0.66), (0.44, 0.02)]],
    7: [[(0.02, 0.02), (0.58, 0.02), (0.2, 0.98)], [(0.16, 0.5), (0.48, 0.5)]],
    8: [_arc(0.3, 0.25, 0.22, 0.23, 0, 360, 18), _arc(0.3, 0.73, 0.27, 0.25, 0, 360, 20)],
    9: [_arc(0.3, 0.3, 0.27, 0.28, 0, 360, 20), [(0.56, 0.34), (0.16, 0.98)]],
}
GLYPH_WIDTH = 0.6


def _segments(strokes):
    """All stroke segments of a glyph as (start, end) arrays of shape [K, 2]."""
    starts, ends = [], []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        starts.append(points[:-1])
        ends.append(points[1:])
    return np.concatenate(starts), np.concatenate(ends)


SEGMENTS = {d: _segments(g) for d, g in GLYPHS.items()}


def _ink(xs, ys, digits, origin_x, height, slant, width):
    """Coverage in [0, 1] of a row of digits (left to right from origin_x, in pixels) at the pixel
    centres xs, ys: the distance to the nearest stroke, anti-aliased over one pixel."""
    coverage = np.zeros_like(xs)
    advance = (GLYPH_WIDTH + 0.22) * height
    for i, digit in enumerate(digits):
        a, b = SEGMENTS[digit]
        # Glyph space -> pixels: scaled, slanted (x shifts with height), placed.
        def place(p):
            x = origin_x + i * advance + p[:, 0] * height + slant * (0.5 - p[:, 1]) * height
            return np.stack([x, p[:, 1] * height], axis=1)
        a, b = place(a), place(b)
        d = b - a
        length2 = np.maximum((d ** 2).sum(axis=1), 1e-12)
        px = xs[..., None] - a[:, 0]
        py = ys[..., None] - a[:, 1]
        t = np.clip((px * d[:, 0] + py * d[:, 1]) / length2, 0, 1)
        dist = np.sqrt((px - t * d[:, 0]) ** 2 + (py - t * d[:, 1]) ** 2).min(axis=-1)
        coverage = np.maximum(coverage, np.clip(width / 2 - dist + 0.5, 0, 1))
    return coverage


def _blur(image, passes):
    """A small separable [1, 2, 1] blur, `passes` times (camera softness)."""
    for _ in range(passes):
        padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
        image = (padded[:-2, 1:-1] + 2 * padded[1:-1, 1:-1] + padded[2:, 1:-1]) / 4
        padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
        image = (padded[1:-1, :-2] + 2 * padded[1:-1, 1:-1] + padded[1:-1, 2:]) / 4
    return image


def render(rng, label, side):
    """One S x S x 3 uint8 crop centred on `label`, drawn on a scene of 32 units scaled to `side`."""
    scale = side / 32.0
    # The plate: a plain or two-tone background, and ink that contrasts with it.
    background = rng.uniform(0, 255, 3)
    ink = rng.uniform(0, 255, 3)
    if abs(background.mean() - ink.mean()) < 60:
        ink = 255 - background + rng.uniform(-30, 30, 3)
    height = rng.uniform(15, 25) * scale
    width = rng.uniform(1.8, 4.0) * scale
    slant = rng.uniform(-0.25, 0.25)
    # The label with up to one neighbour each side, as on a house number.
    left = [int(rng.integers(10))] if rng.random() < 0.6 else []
    right = [int(rng.integers(10))] if rng.random() < 0.6 else []
    digits = left + [label] + right
    advance = (GLYPH_WIDTH + 0.22) * height
    centre_x = side / 2 + rng.normal(0, 1.0) * scale
    origin_x = centre_x - GLYPH_WIDTH * height / 2 - len(left) * advance
    top = side / 2 - height / 2 + rng.normal(0, 1.0) * scale

    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64) + 0.5
    coverage = _ink(xs, ys - top, digits, origin_x, height, slant, width)
    image = background + coverage[..., None] * (ink - background)
    # Light falling across the plate, then softness and sensor noise.
    gradient = rng.uniform(-0.35, 0.35) * (xs / side - 0.5) + rng.uniform(-0.35, 0.35) * (ys / side - 0.5)
    image = image * (1 + gradient[..., None])
    image = _blur(image, int(rng.integers(0, 2)) + (1 if side >= 64 else 0))
    image = image + rng.normal(0, rng.uniform(2, 10), image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _element(data_type, payload):
    """A MAT v5 data element: tag (type, byte count) and payload padded to 8 bytes."""
    padding = (-len(payload)) % 8
    return struct.pack("<II", data_type, len(payload)) + payload + b"\0" * padding


def _matrix(name, array, class_id, data_type):
    """A MAT v5 miMATRIX element of a numeric array, written column-major."""
    flags = _element(6, struct.pack("<II", class_id, 0))  # miUINT32: class, no flags
    dims = _element(5, struct.pack("<%di" % array.ndim, *array.shape))  # miINT32
    body = flags + dims + _element(1, name.encode()) + _element(data_type, array.tobytes(order="F"))
    return struct.pack("<II", 14, len(body)) + body  # miMATRIX


def write_mat(path, variables):
    """A MAT v5 file with each variable zlib-compressed (miCOMPRESSED), as MATLAB's -v7 writes."""
    text = b"MATLAB 5.0 MAT-file, written by dcgan-svhn's make_synthetic_svhn.py"
    header = text.ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    with open(path, "wb") as out:
        out.write(header)
        for name, array, class_id, data_type in variables:
            compressed = zlib.compress(_matrix(name, array, class_id, data_type))
            out.write(struct.pack("<II", 15, len(compressed)) + compressed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the .mat file to write")
    parser.add_argument("count", type=int, help="number of crops")
    parser.add_argument("seed", type=int, help="random seed: the same seed gives the same file")
    parser.add_argument("--size", type=int, default=32, help="side of the crops (default 32)")
    args = parser.parse_args()
    if args.count < 1 or args.size < 8:
        parser.error("COUNT must be at least 1 and --size at least 8")
    rng = np.random.default_rng(args.seed)
    labels = rng.integers(0, 10, args.count)
    x = np.empty((args.size, args.size, 3, args.count), dtype=np.uint8)
    for i, label in enumerate(labels):
        x[:, :, :, i] = render(rng, int(label), args.size)
    y = np.where(labels == 0, 10, labels).astype(np.float64).reshape(-1, 1)
    write_mat(args.out, [("X", x, 9, 2), ("y", y, 6, 9)])  # mxUINT8/miUINT8, mxDOUBLE/miDOUBLE
    print("make_synthetic_svhn: wrote %s (%d crops of %dx%d, seed %d)"
          % (args.out, args.count, args.size, args.size, args.seed))


if __name__ == "__main__":
    main()
