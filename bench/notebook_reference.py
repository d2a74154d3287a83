"""The DCGAN_Exercise notebook's training loop (Udacity deep-learning-v2-pytorch, dcgan-svhn),
kept as close to the notebook as a benchmark allows, to time against dcgan_bench.

What differs from the notebook, and why:
  * torchvision is not installed here, so `datasets.SVHN(transform=transforms.ToTensor())` is
    emulated: SVHN's own .mat file read with scipy.io.loadmat, and a Dataset whose __getitem__
    does what ToTensor does to one HWC uint8 image (float, /255, CHW). The DataLoader is the real
    torch.utils.data.DataLoader(batch_size, shuffle=True), as in the notebook.
  * No printing, sampling or checkpointing: only the per-batch work of the training loop is timed,
    `--steps` batches after `--warmup` untimed ones.

Run with Debian's Python (python3-torch, python3-scipy):
  /usr/bin/python3 bench/notebook_reference.py --data data/svhn_sample_32x32.mat --conv-dim 32
Prints one JSON line: {"impl": "python-notebook", "conv_dim", "batch_size", "images_per_sec", ...}.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

try:
    from PIL import Image  # torchvision's SVHN makes a PIL image per item; without PIL, skip that
except ImportError:
    Image = None


class SVHNMat(Dataset):
    """torchvision.datasets.SVHN(split='train', transform=transforms.ToTensor()) on a local .mat."""

    def __init__(self, path):
        import scipy.io  # only here: bench/gpu_reference.py imports the models without scipy
        mat = scipy.io.loadmat(path)
        # torchvision keeps X as N x 3 x 32 x 32 (transposed from MATLAB's 32x32x3xN) ...
        self.data = np.transpose(mat['X'], (3, 2, 0, 1))
        self.labels = mat['y'].astype(np.int64).squeeze()
        np.place(self.labels, self.labels == 10, 0)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        # ... and hands ToTensor a PIL image made from HWC; ToTensor (torchvision 0.14) copies it
        # into a numpy array, permutes to CHW and divides by 255 as float.
        img = np.transpose(self.data[index], (1, 2, 0))
        if Image is not None:
            img = np.array(Image.fromarray(img), np.uint8, copy=True)
        tensor = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()
        return tensor.to(dtype=torch.get_default_dtype()).div(255), int(self.labels[index])


def scale(x, feature_range=(-1, 1)):
    ''' Scale takes in an image x and returns that image, scaled
       with a feature_range of pixel values from -1 to 1.
       This function assumes that the input x is already scaled from 0-1.'''
    min, max = feature_range
    x = x * (max - min) + min
    return x


def conv(in_channels, out_channels, kernel_size, stride=2, padding=1, batch_norm=True):
    """Creates a convolutional layer, with optional batch normalization."""
    layers = []
    conv_layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
    layers.append(conv_layer)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def deconv(in_channels, out_channels, kernel_size, stride=2, padding=1, batch_norm=True):
    """Creates a transposed-convolutional layer, with optional batch normalization."""
    layers = []
    layers.append(nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding, bias=False))
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):

    def __init__(self, conv_dim=32):
        super(Discriminator, self).__init__()
        self.conv_dim = conv_dim
        self.conv1 = conv(3, conv_dim, 4, batch_norm=False)  # 32x32 -> 16x16
        self.conv2 = conv(conv_dim, conv_dim * 2, 4)         # -> 8x8
        self.conv3 = conv(conv_dim * 2, conv_dim * 4, 4)     # -> 4x4
        self.fc = nn.Linear(conv_dim * 4 * 4 * 4, 1)

    def forward(self, x):
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.leaky_relu(self.conv2(out), 0.2)
        out = F.leaky_relu(self.conv3(out), 0.2)
        out = out.view(-1, self.conv_dim * 4 * 4 * 4)
        out = self.fc(out)
        return out


class Generator(nn.Module):

    def __init__(self, z_size, conv_dim=32):
        super(Generator, self).__init__()
        self.conv_dim = conv_dim
        self.fc = nn.Linear(z_size, conv_dim * 4 * 4 * 4)
        self.t_conv1 = deconv(conv_dim * 4, conv_dim * 2, 4)  # 4x4 -> 8x8
        self.t_conv2 = deconv(conv_dim * 2, conv_dim, 4)      # -> 16x16
        self.t_conv3 = deconv(conv_dim, 3, 4, batch_norm=False)  # -> 32x32

    def forward(self, x):
        out = self.fc(x)
        out = out.view(-1, self.conv_dim * 4, 4, 4)
        out = F.relu(self.t_conv1(out))
        out = F.relu(self.t_conv2(out))
        out = self.t_conv3(out)
        out = torch.tanh(out)
        return out


def real_loss(D_out, smooth=False, train_on_gpu=False):
    batch_size = D_out.size(0)
    if smooth:
        labels = torch.ones(batch_size) * 0.9
    else:
        labels = torch.ones(batch_size)
    if train_on_gpu:
        labels = labels.cuda()
    criterion = nn.BCEWithLogitsLoss()
    loss = criterion(D_out.squeeze(), labels)
    return loss


def fake_loss(D_out, train_on_gpu=False):
    batch_size = D_out.size(0)
    labels = torch.zeros(batch_size)
    if train_on_gpu:
        labels = labels.cuda()
    criterion = nn.BCEWithLogitsLoss()
    loss = criterion(D_out.squeeze(), labels)
    return loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='data/svhn_sample_32x32.mat')
    parser.add_argument('--conv-dim', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--z-size', type=int, default=100)
    parser.add_argument('--steps', type=int, default=20, help='timed batches')
    parser.add_argument('--warmup', type=int, default=3, help='untimed batches first')
    parser.add_argument('--threads', type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument('--num-workers', type=int, default=0, help="DataLoader workers (notebook: 0)")
    parser.add_argument('--smooth', action='store_true')
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)

    train_on_gpu = torch.cuda.is_available()
    svhn_train = SVHNMat(args.data)
    train_loader = DataLoader(dataset=svhn_train, batch_size=args.batch_size, shuffle=True,
                              num_workers=args.num_workers)

    D = Discriminator(args.conv_dim)
    G = Generator(z_size=args.z_size, conv_dim=args.conv_dim)
    if train_on_gpu:
        G.cuda()
        D.cuda()
    lr, beta1, beta2 = 0.0002, 0.5, 0.999
    d_optimizer = optim.Adam(D.parameters(), lr, [beta1, beta2])
    g_optimizer = optim.Adam(G.parameters(), lr, [beta1, beta2])
    z_size = args.z_size

    def batches():
        while True:  # epochs, as many as the step count needs
            for real_images, _ in train_loader:
                yield real_images

    def train_batch(real_images):
        batch_size = real_images.size(0)
        real_images = scale(real_images)

        # ============================================
        #            TRAIN THE DISCRIMINATOR
        # ============================================
        d_optimizer.zero_grad()
        if train_on_gpu:
            real_images = real_images.cuda()
        D_real = D(real_images)
        d_real_loss = real_loss(D_real, args.smooth, train_on_gpu)

        z = np.random.uniform(-1, 1, size=(batch_size, z_size))
        z = torch.from_numpy(z).float()
        if train_on_gpu:
            z = z.cuda()
        fake_images = G(z)

        D_fake = D(fake_images)
        d_fake_loss = fake_loss(D_fake, train_on_gpu)

        d_loss = d_real_loss + d_fake_loss
        d_loss.backward()
        d_optimizer.step()

        # =========================================
        #            TRAIN THE GENERATOR
        # =========================================
        g_optimizer.zero_grad()
        z = np.random.uniform(-1, 1, size=(batch_size, z_size))
        z = torch.from_numpy(z).float()
        if train_on_gpu:
            z = z.cuda()
        fake_images = G(z)

        D_fake = D(fake_images)
        g_loss = real_loss(D_fake, False, train_on_gpu)

        g_loss.backward()
        g_optimizer.step()
        return d_loss, g_loss

    D.train()
    G.train()
    stream = batches()
    for _ in range(args.warmup):
        train_batch(next(stream))
    if train_on_gpu:
        torch.cuda.synchronize()
    # The loader's batching (with ToTensor per image) is inside the timed region, as in the notebook.
    images = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    for _ in range(args.steps):
        real_images = next(stream)
        images += real_images.size(0)
        d_loss, g_loss = train_batch(real_images)
    if train_on_gpu:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({'impl': 'python-notebook', 'device': 'cuda' if train_on_gpu else 'cpu',
                      'threads': torch.get_num_threads(), 'conv_dim': args.conv_dim,
                      'batch_size': args.batch_size, 'steps': args.steps, 'seconds': seconds,
                      'images_per_sec': images / seconds, 'cpu_seconds': cpu,
                      'images_per_cpu_sec': images / cpu, 'd_loss': d_loss.item(),
                      'g_loss': g_loss.item(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
