#!/usr/bin/env python3
"""Write the downsampled ImageNet 64x64 validation set (Chrabaszcz et al. 2017, the
`Imagenet64_val` release: an .npz file with `data`, uint8 [N, 3*64*64] stored as the red,
green and blue planes one after the other, and `labels`, 1-based class numbers) as a
folder of PNGs and a labels file that `mapinverse restore --input-dir --labels` and
`mapinverse bench --input-dir --labels` read ("NAME LABEL" lines, 0-based labels).

    python3 scripts/imagenet64_to_png.py val_data.npz imagenet64_val --count 1000

Needs numpy. The output folder must not exist yet. Check that the release's class order
is the one your networks were trained with (EDM and OpenAI's checkpoints number the
classes 0-999 in the order of the sorted WordNet IDs)."""

import argparse
import os
import struct
import sys
import zlib


def write_png(path, rgb):
    """rgb: uint8 array [64, 64, 3]."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[row].tobytes() for row in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" +
                  chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
                  chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("npz", help="the validation .npz (keys data and labels)")
    parser.add_argument("out", help="a new folder for the PNGs and labels.txt")
    parser.add_argument("--count", type=int, default=0, help="only the first N images (0: all)")
    parser.add_argument("--first-label", type=int, default=1,
                        help="the number of the first class in the file (1 in the release)")
    args = parser.parse_args(argv)
    import numpy as np

    if os.path.exists(args.out):
        raise SystemExit(f"{args.out}: exists; name a new folder")
    archive = np.load(args.npz)
    if "data" not in archive or "labels" not in archive:
        raise SystemExit(f"{args.npz}: expected the keys data and labels, found "
                         f"{sorted(archive.keys())}")
    data, labels = archive["data"], np.asarray(archive["labels"]).reshape(-1)
    if data.ndim != 2 or data.shape[1] != 3 * 64 * 64 or len(labels) != len(data):
        raise SystemExit(f"{args.npz}: data {data.shape}, labels {labels.shape}; expected "
                         "[N, 12288] and [N]")
    count = len(data) if args.count <= 0 else min(args.count, len(data))
    staging = args.out + ".partial"
    os.makedirs(staging)
    lines = []
    for index in range(count):
        name = f"val_{index:05d}.png"
        write_png(os.path.join(staging, name), data[index].reshape(3, 64, 64).transpose(1, 2, 0))
        lines.append(f"{name} {int(labels[index]) - args.first_label}\n")
    with open(os.path.join(staging, "labels.txt"), "w") as out:
        out.writelines(lines)
    os.replace(staging, args.out)
    print(f"wrote {count} images and labels.txt to {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
