"""pytorch/examples' DCGAN training step (dcgan/main.py's loop body), timed against
`dcgan_bench --arch pytorch-examples --image-size 64`.

The networks are tests/pytorch_examples_reference.py's independent copy of main.py's classes (64x64,
ngf = ndf = --conv-dim). Each timed step is main.py's: D on a real batch (BCELoss against 1), G(noise
~ N(0, 1)), D on the detached fakes (against 0), Adam step for D; D on the same fakes (against 1),
Adam step for G. The images are uint8 in memory, normalised per batch as main.py's transform does, so
only the training step is timed (as dcgan_bench does), not image decoding.

Run with Debian's Python (python3-torch):
  /usr/bin/python3 bench/pytorch_examples_reference.py --conv-dim 64 --batch-size 128 --threads 1
Prints one JSON line: {"impl": "python-pytorch-examples", "conv_dim", "batch_size", "images_per_sec", ...}.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.optim as optim

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from pytorch_examples_reference import Discriminator, Generator, weights_init  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conv-dim", type=int, default=64, help="ngf and ndf")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--z-size", type=int, default=100, help="nz")
    parser.add_argument("--images", type=int, default=1024, help="random 64x64 images in memory")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, 64, 64), dtype=torch.uint8)
    netG, netD = Generator(args.z_size, args.conv_dim), Discriminator(args.conv_dim)
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    b = args.batch_size

    def step():
        idx = torch.randint(0, args.images, (b,))
        real = (images.index_select(0, idx).float() / 255 - 0.5) / 0.5
        netD.zero_grad()
        errD_real = criterion(netD(real), torch.full((b,), 1.0))
        errD_real.backward()
        fake = netG(torch.randn(b, args.z_size, 1, 1))
        errD_fake = criterion(netD(fake.detach()), torch.full((b,), 0.0))
        errD_fake.backward()
        optimizerD.step()
        netG.zero_grad()
        errG = criterion(netD(fake), torch.full((b,), 1.0))
        errG.backward()
        optimizerG.step()
        return errD_real + errD_fake, errG

    for _ in range(args.warmup):
        step()
    cpu_start, start = time.process_time(), time.perf_counter()
    for _ in range(args.steps):
        d_loss, g_loss = step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    done = args.steps * b
    print(json.dumps({"impl": "python-pytorch-examples", "device": "cpu", "arch": "pytorch-examples",
                      "image_size": 64, "threads": torch.get_num_threads(),
                      "conv_dim": args.conv_dim, "batch_size": b, "steps": args.steps,
                      "seconds": seconds, "images_per_sec": done / seconds, "cpu_seconds": cpu,
                      "images_per_cpu_sec": done / cpu, "d_loss": d_loss.item(),
                      "g_loss": g_loss.item(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
