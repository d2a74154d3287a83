"""Python references for the GPU benchmark (scripts/gpu_check.sh), on the notebook's own models
(imported from bench/notebook_reference.py) and random uint8 images, so only torch is needed:

  notebook  the notebook's training loop: batches from a DataLoader over host tensors already
            scaled to [0, 1] (what ToTensor yields), moved to the GPU per batch, z from numpy.
  graph     the same D + G step captured whole in one torch.cuda.graph, as dcgan's graph step:
            dataset on the GPU as uint8, batch gathered and scaled inside the graph, z copied in,
            Adam(capturable=True); optionally bf16 autocast and channels_last.

Prints one JSON line per run: {"impl", "conv_dim", "batch_size", "images_per_sec", ...}.
  python3 bench/gpu_reference.py --impl graph --conv-dim 32 --batch-size 128 --bf16 --channels-last
--device cpu runs the same code on the CPU, the graph's step uncaptured: the dry run of
scripts/gpu_check.sh uses it to check the plumbing without a GPU; its numbers mean nothing.
"""
import argparse
import contextlib
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

from notebook_reference import Discriminator, Generator, fake_loss, real_loss, scale


class FlatteningDiscriminator(Discriminator):
    """The notebook's D with its last view() as a reshape, as dcgan's flatten(1): with
    channels_last weights the convolutions' output is NHWC, which view() cannot flatten."""

    def forward(self, x):
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.leaky_relu(self.conv2(out), 0.2)
        out = F.leaky_relu(self.conv3(out), 0.2)
        return self.fc(out.reshape(-1, self.conv_dim * 4 * 4 * 4))


def models(args, device):
    D = (FlatteningDiscriminator if args.channels_last else Discriminator)(args.conv_dim).to(device)
    G = Generator(z_size=args.z_size, conv_dim=args.conv_dim).to(device)
    if args.channels_last:
        D = D.to(memory_format=torch.channels_last)
        G = G.to(memory_format=torch.channels_last)
    return D, G


def adam(params, capturable=False):
    kwargs = {'capturable': True} if capturable else {}
    return optim.Adam(params, 0.0002, [0.5, 0.999], **kwargs)


def synchronize(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_steps(step, args, device):
    for _ in range(args.warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        losses = step()
    synchronize(device)
    seconds = time.perf_counter() - start
    return seconds, [float(l) for l in losses]


def notebook(args, images_host, device):
    on_gpu = device.type == 'cuda'
    D, G = models(args, device)
    d_optimizer, g_optimizer = adam(D.parameters()), adam(G.parameters())
    loader = DataLoader(TensorDataset(images_host.float().div(255)), batch_size=args.batch_size,
                        shuffle=True, drop_last=True)

    def batches():
        while True:
            for (real,) in loader:
                yield real
    stream = batches()

    def step():
        real_images = scale(next(stream)).to(device)
        d_optimizer.zero_grad()
        d_real_loss = real_loss(D(real_images), False, on_gpu)
        z = torch.from_numpy(np.random.uniform(-1, 1, size=(args.batch_size, args.z_size))).float().to(device)
        d_fake_loss = fake_loss(D(G(z)), on_gpu)
        d_loss = d_real_loss + d_fake_loss
        d_loss.backward()
        d_optimizer.step()
        g_optimizer.zero_grad()
        z = torch.from_numpy(np.random.uniform(-1, 1, size=(args.batch_size, args.z_size))).float().to(device)
        g_loss = real_loss(D(G(z)), False, on_gpu)
        g_loss.backward()
        g_optimizer.step()
        return d_loss.detach(), g_loss.detach()
    return time_steps(step, args, device)


def graph(args, images_host, device):
    D, G = models(args, device)
    capturable = device.type == 'cuda'  # CPU Adam refuses capturable=True
    d_optimizer, g_optimizer = adam(D.parameters(), capturable), adam(G.parameters(), capturable)
    images = images_host.to(device)
    index = torch.zeros(args.batch_size, dtype=torch.long, device=device)
    z = torch.zeros(2, args.batch_size, args.z_size, device=device)
    autocast = (lambda: torch.autocast(device.type, torch.bfloat16, cache_enabled=False)) \
        if args.bf16 else contextlib.nullcontext

    # The notebook's losses with targets made on the device: its real_loss/fake_loss build them on
    # the host and copy them over, which a graph capture does not allow.
    def bce(logits, target):
        logits = logits.squeeze()
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    def compute():
        real = images.index_select(0, index).float().mul_(2 / 255).sub_(1)
        d_optimizer.zero_grad(set_to_none=True)
        with autocast():
            d_real = D(real).float()
            with torch.no_grad():
                fake = G(z[0])
            d_fake = D(fake).float()
        d_loss = bce(d_real, 1.0) + bce(d_fake, 0.0)
        d_loss.backward()
        d_optimizer.step()
        g_optimizer.zero_grad(set_to_none=True)
        with autocast():
            g_out = D(G(z[1])).float()
        g_loss = bce(g_out, 1.0)
        g_loss.backward()
        g_optimizer.step()
        return d_loss.detach(), g_loss.detach()

    cuda = capturable
    if cuda:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                compute()
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            static_losses = compute()
        replay = g.replay
    else:
        replay = compute
    n = images.size(0)
    order = torch.randperm(n, device=device)
    cursor = [0]
    # Two pinned buffers used in turn, each with an event recorded after its upload: a non-blocking
    # copy from pinned memory still reads it after copy_ returns, so the buffer is refilled only
    # once its last upload is done (as dcgan's graph step does).
    host_z = [torch.empty(2, args.batch_size, args.z_size, pin_memory=cuda) for _ in range(2)]
    uploaded = [torch.cuda.Event() for _ in range(2)] if cuda else None
    replays = [0]

    def step():
        if cursor[0] + args.batch_size > n:
            order.copy_(torch.randperm(n, device=device))
            cursor[0] = 0
        index.copy_(order[cursor[0]:cursor[0] + args.batch_size], non_blocking=True)
        cursor[0] += args.batch_size
        slot = replays[0] % 2
        if cuda:
            uploaded[slot].synchronize()  # returns at once before the first record
        host_z[slot].uniform_(-1, 1)
        z.copy_(host_z[slot], non_blocking=True)
        if cuda:
            uploaded[slot].record()
        losses = replay()
        replays[0] += 1
        return static_losses if cuda else losses
    return time_steps(step, args, device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--impl', choices=['notebook', 'graph'], required=True)
    parser.add_argument('--conv-dim', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--z-size', type=int, default=100)
    parser.add_argument('--images', type=int, default=16384)
    parser.add_argument('--steps', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--bf16', action='store_true')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--device', default='cuda', help='cuda, cuda:N or cpu (a dry run)')
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('gpu_reference.py: no CUDA device')
        if device.index is not None:  # set_device refuses a plain 'cuda' on PyTorch 2.11
            torch.cuda.set_device(device)
    if args.steps < 1 or args.warmup < 0:
        raise SystemExit('gpu_reference.py: --steps must be at least 1 and --warmup at least 0')
    if args.batch_size > args.images:
        raise SystemExit(f'gpu_reference.py: --batch-size {args.batch_size} is more than the '
                         f'{args.images} --images')
    torch.manual_seed(0)
    np.random.seed(0)
    torch.backends.cudnn.benchmark = True
    images_host = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8)
    seconds, losses = (notebook if args.impl == 'notebook' else graph)(args, images_host, device)
    print(json.dumps({'impl': 'python-' + args.impl, 'conv_dim': args.conv_dim,
                      'batch_size': args.batch_size, 'bf16': args.bf16,
                      'channels_last': args.channels_last, 'steps': args.steps,
                      'seconds': seconds, 'images_per_sec': args.steps * args.batch_size / seconds,
                      'd_loss': losses[0], 'g_loss': losses[1], 'torch': torch.__version__,
                      'device': torch.cuda.get_device_name(device) if device.type == 'cuda'
                      else 'cpu', 'cudnn_benchmark': device.type == 'cuda' and torch.backends.cudnn.benchmark}))


if __name__ == '__main__':
    main()
