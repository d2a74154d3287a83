#!/usr/bin/env python3
"""Class-conditional DCGANs (dcgan train --conditional) as a PyTorch user writes them, as the
reference dcgan's conditional networks, their export and their import are checked against.

  conditional_reference.py generate DIR  for each arch (the notebook's, pytorch/examples') and
                                         conditioning (projection, acgan), writes into
                                         DIR/<arch>_<conditioning>/ the state_dicts (G.pt, D.pt),
                                         images, labels, z, and what the classes below compute
                                         from them: forward passes and one training step with
                                         every gradient and Adam moment (expected.pt)
  conditional_reference.py check DIR     loads the state_dicts dcgan exported (exported_G.pt,
                                         exported_D.pt) strictly into the classes below and checks
                                         their outputs against dcgan's (cpp_outputs.pt); the
                                         TorchScript modules dcgan exported (exported_G.ts,
                                         exported_D.ts), loaded with no model code, must compute
                                         the same and draw the classes asked for

Runs with Debian's python3-torch (1.13 and 2.x). The networks are the notebook's and pytorch/examples'
(tests/notebook_reference.py, tests/pytorch_examples_reference.py) with the labels added:
- projection: every BatchNorm of G is a ConditionalBatchNorm2d (BatchNorm2d without affine, then a
  gain and a bias per class, from two Embeddings) under the BatchNorm's key; D adds
  <embed(label), its last features summed over H and W> to its logit;
- acgan: G's first layer takes z with the one-hot label after it; D has a classifier head on its
  flattened last features, and (acgan_projection, dcgan's default; not with --no-acgan-projection)
  projection's `embed` and class term as well. Losses: D: BCE-with-logits (real 1, fake 0) plus the classifier's
  cross-entropy on the real images; G: BCE(D(G(z, y)) -> 1) plus the cross-entropy of D's class
  logits on the fakes against y.
Both D's return (logit, class logits or None); the sigmoid lives in the loss. With a minibatch
standard deviation group size (dcgan train --minibatch-std, on by default with acgan), D appends
MinibatchStd's channel to its last features before the logit (fc or main's last conv takes one
more channel); the class head and the projection see the features without it. A state_dict does
not hold the group size; it is the classes' constructor argument, as the class count is.
"""
import copy
import math
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
except ImportError:
    sys.exit("conditional_reference.py: PyTorch for Python is missing; install python3-torch "
             "(scripts/install_deps.sh does)")

from notebook_reference import (compare, conv, deconv, guard_cpu_convolutions, load,  # noqa: E402
                                record_step, scale, state)

CONV_DIM = 4
Z_SIZE = 8
CLASSES = 3
BATCH = 6
LR, BETA1, BETA2 = 0.0002, 0.5, 0.999
# (arch, conditioning, minibatch std group size, acgan_projection): 4 does not divide BATCH, so
# groups of 3. The last two are dcgan's acgan default.
CASES = [("notebook", "projection", 0, False), ("notebook", "acgan", 0, False),
         ("pytorch-examples", "projection", 0, False), ("pytorch-examples", "acgan", 0, False),
         ("notebook", "acgan", 4, False), ("pytorch-examples", "acgan", 4, False),
         ("notebook", "acgan", 4, True), ("pytorch-examples", "acgan", 4, True)]


def case_folder(folder, arch, conditioning, minibatch_std, acgan_projection):
    name = arch.replace("-", "_") + "_" + conditioning
    return os.path.join(folder, name + ("_mbstd%d" % minibatch_std if minibatch_std else "") +
                        ("_proj" if acgan_projection else ""))


class MinibatchStd(nn.Module):
    """Karras et al. 2018: one more channel holding, per image, the standard deviation of each
    feature over its group, averaged. Groups of group_size images, or of the largest size below it
    that divides the batch; image i is in group i % (N / size)."""

    def __init__(self, group_size):
        super().__init__()
        self.group_size = group_size

    def forward(self, x):
        n, c, h, w = x.shape
        group = min(self.group_size, n)
        while n % group:
            group -= 1
        grouped = x.float().reshape(group, n // group, c, h, w)
        spread = (grouped.var(0, unbiased=False) + 1e-8).sqrt().mean([1, 2, 3])
        return torch.cat([x, spread.repeat(group).to(x.dtype).view(n, 1, 1, 1).expand(n, 1, h, w)], 1)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm2d without an affine of its own, then a gain and a bias per class (starting at 1
    and 0, so an untrained layer is plain BatchNorm)."""

    def __init__(self, features, classes):
        super().__init__()
        self.bn = nn.BatchNorm2d(features, affine=False)
        self.gain = nn.Embedding(classes, features)
        self.bias = nn.Embedding(classes, features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x, labels):
        return self.bn(x) * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


def norm(features, classes, conditioning):
    return (ConditionalBatchNorm2d(features, classes) if conditioning == "projection"
            else nn.BatchNorm2d(features))


def run_layers(layers, x, labels):
    """An nn.Sequential whose conditional BatchNorm layers also take the labels."""
    for layer in layers:
        x = layer(x, labels) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
    return x


def with_one_hot(z, labels, classes):
    return torch.cat([z, F.one_hot(labels, classes).to(z.dtype)], 1)


def judge(D, features, logit, labels):
    """The logit with the projection term of the labels, and AC-GAN's class logits."""
    if hasattr(D, "embed"):
        logit = logit + (D.embed(labels) * features.sum([2, 3])).sum(1, keepdim=True)
    return logit, D.classifier(features.flatten(1)) if D.conditioning == "acgan" else None


def add_class_layers(D, width, classes, conditioning, acgan_projection):
    D.conditioning = conditioning
    if conditioning == "projection" or acgan_projection:
        D.embed = nn.Embedding(classes, width)
        # As dcgan draws it: Embedding's N(0, 1) summed over 16 positions dwarfs the logit.
        bound = 1 / math.sqrt(width * 16)
        nn.init.uniform_(D.embed.weight, -bound, bound)
    if conditioning == "acgan":
        D.classifier = nn.Linear(width * 4 * 4, classes)


class NotebookGenerator(nn.Module):
    """The notebook's Generator, class-conditional: t_conv1.1 and t_conv2.1 are conditional
    BatchNorm (projection), or fc takes z and the one-hot label (acgan)."""

    def __init__(self, z_size, conv_dim, classes, conditioning):
        super().__init__()
        self.conv_dim, self.classes, self.conditioning = conv_dim, classes, conditioning
        inputs = z_size + (classes if conditioning == "acgan" else 0)
        self.fc = nn.Linear(inputs, conv_dim * 4 * 4 * 4)
        self.t_conv1 = nn.Sequential(nn.ConvTranspose2d(conv_dim * 4, conv_dim * 2, 4, 2, 1, bias=False),
                                     norm(conv_dim * 2, classes, conditioning))
        self.t_conv2 = nn.Sequential(nn.ConvTranspose2d(conv_dim * 2, conv_dim, 4, 2, 1, bias=False),
                                     norm(conv_dim, classes, conditioning))
        self.t_conv3 = deconv(conv_dim, 3, 4, batch_norm=False)

    def forward(self, z, labels):
        if self.conditioning == "acgan":
            z = with_one_hot(z, labels, self.classes)
        out = self.fc(z).view(-1, self.conv_dim * 4, 4, 4)
        out = F.relu(run_layers(self.t_conv1, out, labels))
        out = F.relu(run_layers(self.t_conv2, out, labels))
        return torch.tanh(self.t_conv3(out))


def with_minibatch_std(D, features):
    return D.minibatch_std(features) if D.minibatch_std is not None else features


class NotebookDiscriminator(nn.Module):
    """The notebook's Discriminator with `embed` (projection) or `classifier` (acgan) after fc."""

    def __init__(self, conv_dim, classes, conditioning, minibatch_std=0, acgan_projection=False):
        super().__init__()
        self.conv_dim = conv_dim
        self.conv1 = conv(3, conv_dim, 4, batch_norm=False)
        self.conv2 = conv(conv_dim, conv_dim * 2, 4)
        self.conv3 = conv(conv_dim * 2, conv_dim * 4, 4)
        self.minibatch_std = MinibatchStd(minibatch_std) if minibatch_std else None
        self.fc = nn.Linear((conv_dim * 4 + (1 if minibatch_std else 0)) * 4 * 4, 1)
        add_class_layers(self, conv_dim * 4, classes, conditioning, acgan_projection)

    def forward(self, x, labels):
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.leaky_relu(self.conv2(out), 0.2)
        out = F.leaky_relu(self.conv3(out), 0.2)
        return judge(self, out, self.fc(with_minibatch_std(self, out).flatten(1)), labels)


class ExamplesGenerator(nn.Module):
    """pytorch/examples' Generator at 32x32 (one nn.Sequential `main`), class-conditional."""

    def __init__(self, nz, ngf, classes, conditioning):
        super().__init__()
        self.classes, self.conditioning = classes, conditioning
        inputs = nz + (classes if conditioning == "acgan" else 0)
        # nz x 1 x 1 -> 4ngf x 4 x 4 -> 2ngf x 8 x 8 -> ngf x 16 x 16 -> 3 x 32 x 32
        self.main = nn.Sequential(
            nn.ConvTranspose2d(inputs, ngf * 4, 4, 1, 0, bias=False), norm(ngf * 4, classes, conditioning),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), norm(ngf * 2, classes, conditioning),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), norm(ngf, classes, conditioning),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, noise, labels):
        noise = noise.reshape(noise.size(0), -1)
        if self.conditioning == "acgan":
            noise = with_one_hot(noise, labels, self.classes)
        return run_layers(self.main, noise.view(noise.size(0), -1, 1, 1), labels)


class ExamplesDiscriminator(nn.Module):
    """pytorch/examples' Discriminator at 32x32 returning the logit (no Sigmoid), with `embed` or
    `classifier` beside `main`."""

    def __init__(self, ndf, classes, conditioning, minibatch_std=0, acgan_projection=False):
        super().__init__()
        self.minibatch_std = MinibatchStd(minibatch_std) if minibatch_std else None
        # 3 x 32 x 32 -> ndf x 16 x 16 -> 2ndf x 8 x 8 -> 4ndf x 4 x 4 -> 1 x 1 x 1
        self.main = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4 + (1 if minibatch_std else 0), 1, 4, 1, 0, bias=False))
        add_class_layers(self, ndf * 4, classes, conditioning, acgan_projection)

    def forward(self, images, labels):
        features = self.main[:-1](images)
        return judge(self, features, self.main[-1](with_minibatch_std(self, features)).view(-1, 1),
                     labels)


def build(arch, conditioning, z_size=Z_SIZE, conv_dim=CONV_DIM, classes=CLASSES, minibatch_std=0,
          acgan_projection=False):
    if arch == "notebook":
        return (NotebookGenerator(z_size, conv_dim, classes, conditioning),
                NotebookDiscriminator(conv_dim, classes, conditioning, minibatch_std,
                                      acgan_projection))
    return (ExamplesGenerator(z_size, conv_dim, classes, conditioning),
            ExamplesDiscriminator(conv_dim, classes, conditioning, minibatch_std, acgan_projection))


def draw_z(arch, n):
    """As each arch draws z: the notebook U(-1, 1), pytorch/examples N(0, 1)."""
    return torch.empty(n, Z_SIZE).uniform_(-1, 1) if arch == "notebook" else torch.randn(n, Z_SIZE)


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def d_loss_of(G, D, real, labels, z, fake_labels):
    real_logit, real_classes = D(real, labels)
    with torch.no_grad():  # dcgan makes D's fakes without G's graph
        fake = G(z, fake_labels)
    fake_logit, _ = D(fake, fake_labels)
    loss = bce(real_logit, 1.0) + bce(fake_logit, 0.0)
    if real_classes is not None:  # acgan: the classifier learns from the real images only
        loss = loss + F.cross_entropy(real_classes, labels)
    return loss


def g_loss_of(G, D, z, labels):
    logit, classes = D(G(z, labels), labels)
    loss = bce(logit, 1.0)
    if classes is not None:
        loss = loss + F.cross_entropy(classes, labels)
    return loss


def generate_case(folder, arch, conditioning, minibatch_std, acgan_projection, seed):
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    G, D = build(arch, conditioning, minibatch_std=minibatch_std, acgan_projection=acgan_projection)
    labels_of = lambda: torch.randint(0, CLASSES, (BATCH,))  # noqa: E731
    # As after some training: class gains and biases away from 1 and 0, running statistics of
    # their own, so that a mix-up of classes, gains or statistics shows.
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                m.gain.weight.normal_(1, 0.3)
                m.bias.weight.normal_(0, 0.3)
        for _ in range(2):
            D(G(draw_z(arch, BATCH), labels_of()), labels_of())
    torch.save(G.state_dict(), folder + "/G.pt")
    torch.save(D.state_dict(), folder + "/D.pt")

    images = torch.randint(0, 256, (BATCH, 3, 32, 32), dtype=torch.uint8)
    real = scale(images.float() / 255)
    labels = torch.tensor([0, 1, 2, 2, 1, 0])[:BATCH] % CLASSES
    e = {"images": images, "labels": labels, "z": draw_z(arch, BATCH), "z_labels": labels_of(),
         "z_for_d": draw_z(arch, BATCH), "labels_for_d": labels_of(),
         "z_for_g": draw_z(arch, BATCH), "labels_for_g": labels_of()}

    with torch.no_grad():
        for mode in ("train", "eval"):
            g, d = copy.deepcopy(G), copy.deepcopy(D)
            g.train(mode == "train")
            d.train(mode == "train")
            e["g_" + mode + ".out"] = g(e["z"], e["z_labels"])
            logit, classes = d(real, labels)
            e["d_" + mode + ".logit"] = logit
            if classes is not None:
                e["d_" + mode + ".class_logits"] = classes
            if mode == "train":
                state("g_train.", g, e)
                state("d_train.", d, e)

    # One training step in dcgan's order: D's loss and Adam step, then G's.
    d_optimizer = optim.Adam(D.parameters(), LR, [BETA1, BETA2])
    g_optimizer = optim.Adam(G.parameters(), LR, [BETA1, BETA2])
    G.train()
    D.train()
    d_optimizer.zero_grad()
    d_loss = d_loss_of(G, D, real, labels, e["z_for_d"], e["labels_for_d"])
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = g_loss_of(G, D, e["z_for_g"], e["labels_for_g"])
    g_loss.backward()
    g_optimizer.step()
    e["step.d_loss"] = d_loss.detach()
    e["step.g_loss"] = g_loss.detach()
    # G's gradients are g_loss's; D's hold d_loss's plus g_loss's (nothing zeroes them in between).
    record_step(e, G, g_optimizer, D, d_optimizer)
    torch.save(e, folder + "/expected.pt")


def generate(folder):
    for seed, (arch, conditioning, minibatch_std, acgan_projection) in enumerate(CASES):
        generate_case(case_folder(folder, arch, conditioning, minibatch_std, acgan_projection), arch,
                      conditioning, minibatch_std, acgan_projection, 30 + seed)
    print("conditional_reference: wrote %s (PyTorch %s)" % (folder, torch.__version__))


def from_state_dicts(g_state, d_state, minibatch_std=0):
    """The classes above built from the keys and shapes of two state_dicts (and D's minibatch std
    group size, which they do not hold), then loaded strictly."""
    arch = "pytorch-examples" if "main.0.weight" in d_state else "notebook"
    conditioning = "acgan" if "classifier.weight" in d_state else "projection"
    acgan_projection = conditioning == "acgan" and "embed.weight" in d_state
    classes = d_state["embed.weight" if conditioning == "projection" else "classifier.weight"].shape[0]
    conv_dim = d_state["main.0.weight" if arch != "notebook" else "conv1.0.weight"].shape[0]
    first = g_state["fc.weight"].shape[1] if arch == "notebook" else g_state["main.0.weight"].shape[0]
    z_size = first - (classes if conditioning == "acgan" else 0)
    G, D = build(arch, conditioning, z_size, conv_dim, classes, minibatch_std, acgan_projection)
    G.load_state_dict(g_state)  # strict: every key, no other
    D.load_state_dict(d_state)
    return G, D, arch, conditioning, classes


def check(folder):
    outputs = load(folder + "/cpp_outputs.pt")
    # dcgan's TorchScript exports, run with no model code below; D's says its group size.
    G_ts = torch.jit.load(folder + "/exported_G.ts")
    D_ts = torch.jit.load(folder + "/exported_D.ts")
    minibatch_std = D_ts.minibatch_std if hasattr(D_ts, "minibatch_std") else 0
    G, D, arch, conditioning, classes = from_state_dicts(load(folder + "/exported_G.pt"),
                                                         load(folder + "/exported_D.pt"),
                                                         minibatch_std)
    G.eval()
    D.eval()
    z, labels = outputs["z"], outputs["labels"]
    real = scale(outputs["images"].float() / 255)
    with torch.no_grad():
        logit, class_logits = D(real, labels)
        results = {"g_eval.out": G(z, labels), "d_eval.logit": logit}
        if class_logits is not None:
            results["d_eval.class_logits"] = class_logits
    failures = compare(results, outputs)

    with torch.no_grad():
        scripted = {"g_eval.out": G_ts(z, labels), "d_eval.logit": D_ts(real, labels)}
        if class_logits is not None:
            scripted["d_eval.class_logits"] = D_ts.classify(real)
        failures += compare(scripted, results)
        probability = D_ts.probability(real, labels)
        samples = G_ts.sample(2 * classes)
        last_class = G_ts.sample_class(3, classes - 1)
        # sample_class(n, k) is forward of n z drawn as G.latent says, all of class k.
        torch.manual_seed(4)
        asked = G_ts.sample_class(3, 1)
        torch.manual_seed(4)
        z_drawn = (torch.rand(3, G_ts.z_size) * 2 - 1 if G_ts.latent == "uniform(-1, 1)"
                   else torch.randn(3, G_ts.z_size))
        failures += compare({"sample_class(3, 1)": asked},
                            {"sample_class(3, 1)": G_ts(z_drawn, torch.full((3,), 1, dtype=torch.long))})
    expected_attributes = {"conditioning": conditioning, "classes": classes, "arch": arch}
    for name, value in expected_attributes.items():
        if getattr(G_ts, name) != value or getattr(D_ts, name) != value:
            print("FAIL attribute %s: %r and %r, expected %r" % (name, getattr(G_ts, name),
                                                                 getattr(D_ts, name), value))
            failures += 1
    names = list(G_ts.class_names)
    if len(names) != classes or not all(isinstance(n, str) for n in names):
        print("FAIL class_names: %r" % (names,))
        failures += 1
    size = G_ts.image_size
    for name, images, n in (("sample", samples, 2 * classes), ("sample_class", last_class, 3)):
        if tuple(images.shape) != (n, 3, size, size) or images.abs().max() > 1:
            print("FAIL %s: shape %s, largest |value| %.3g" % (name, tuple(images.shape),
                                                             images.abs().max()))
            failures += 1
    if (probability - torch.sigmoid(scripted["d_eval.logit"])).abs().max() > 1e-6:
        print("FAIL probability(images, labels) is not the sigmoid of forward")
        failures += 1
    if failures:
        sys.exit("conditional_reference: %d check(s) differ between dcgan and the reference classes"
                 % failures)
    print("conditional_reference: dcgan's exported %s %s models (minibatch std %d) compute the same "
          "in the reference classes (PyTorch %s)" % (arch, conditioning, minibatch_std,
                                                      torch.__version__))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("generate", "check"):
        sys.exit(__doc__)
    torch.set_num_threads(1)
    guard_cpu_convolutions()
    {"generate": generate, "check": check}[sys.argv[1]](sys.argv[2])
