#!/usr/bin/env python3
"""The DCGAN_Exercise notebook's models and training step, as the reference dcgan is checked against.

  notebook_reference.py generate DIR  writes the notebook's state_dicts (G.pt, D.pt), a batch of
                                      images, z, and what the notebook computes from them
                                      (expected.pt), plus files that are not state_dicts (for the
                                      error tests)
  notebook_reference.py check DIR     loads the state_dicts dcgan exported (exported_G.pt,
                                      exported_D.pt) into the notebook's classes and checks their
                                      outputs against the ones dcgan computed (cpp_outputs.pt);
                                      the TorchScript modules dcgan exported (exported_G.ts,
                                      exported_D.ts), loaded with torch.jit.load and no model code,
                                      must compute what those classes compute

Runs with Debian's python3-torch (1.13 on Debian 12, 2.6 on Debian 13). The classes below are the
notebook's, layer for layer, so the state_dict keys are its keys.
"""
import copy
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
except ImportError:
    sys.exit("notebook_reference.py: PyTorch for Python is missing; install python3-torch "
             "(scripts/install_deps.sh does)")

CONV_DIM = 4
Z_SIZE = 8
BATCH = 6
LR, BETA1, BETA2 = 0.0002, 0.5, 0.999


# ---- the notebook, verbatim but for F.tanh (deprecated) -> torch.tanh ----
def conv(in_channels, out_channels, kernel_size, stride=2, padding=1, batch_norm=True):
    layers = []
    conv_layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
    layers.append(conv_layer)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    def __init__(self, conv_dim=32):
        super(Discriminator, self).__init__()
        self.conv_dim = conv_dim
        self.conv1 = conv(3, conv_dim, 4, batch_norm=False)
        self.conv2 = conv(conv_dim, conv_dim * 2, 4)
        self.conv3 = conv(conv_dim * 2, conv_dim * 4, 4)
        self.fc = nn.Linear(conv_dim * 4 * 4 * 4, 1)

    def forward(self, x):
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.leaky_relu(self.conv2(out), 0.2)
        out = F.leaky_relu(self.conv3(out), 0.2)
        out = out.view(-1, self.conv_dim * 4 * 4 * 4)
        out = self.fc(out)
        return out


def deconv(in_channels, out_channels, kernel_size, stride=2, padding=1, batch_norm=True):
    layers = []
    transpose_conv_layer = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride,
                                              padding, bias=False)
    layers.append(transpose_conv_layer)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    def __init__(self, z_size, conv_dim=32):
        super(Generator, self).__init__()
        self.conv_dim = conv_dim
        self.fc = nn.Linear(z_size, conv_dim * 4 * 4 * 4)
        self.t_conv1 = deconv(conv_dim * 4, conv_dim * 2, 4)
        self.t_conv2 = deconv(conv_dim * 2, conv_dim, 4)
        self.t_conv3 = deconv(conv_dim, 3, 4, batch_norm=False)

    def forward(self, x):
        out = self.fc(x)
        out = out.view(-1, self.conv_dim * 4, 4, 4)
        out = F.relu(self.t_conv1(out))
        out = F.relu(self.t_conv2(out))
        out = self.t_conv3(out)
        out = torch.tanh(out)
        return out


def scale(x, feature_range=(-1, 1)):
    min, max = feature_range
    x = x * (max - min) + min
    return x


def real_loss(D_out, smooth=False):
    batch_size = D_out.size(0)
    labels = torch.ones(batch_size) * 0.9 if smooth else torch.ones(batch_size)
    criterion = nn.BCEWithLogitsLoss()
    return criterion(D_out.squeeze(), labels)


def fake_loss(D_out):
    batch_size = D_out.size(0)
    labels = torch.zeros(batch_size)
    criterion = nn.BCEWithLogitsLoss()
    return criterion(D_out.squeeze(), labels)
# ---- end of the notebook ----


def load(path):
    """torch.load as the user runs it: weights_only=True where this PyTorch has it (its default
    from 2.6)."""
    try:
        return torch.load(path, weights_only=True)
    except TypeError:  # a PyTorch without weights_only
        return torch.load(path)


def state(prefix, model, out):
    for name, tensor in model.state_dict().items():
        out[prefix + name] = tensor.detach().clone()


def record_step(out, G, g_optimizer, D, d_optimizer):
    """After one training step: each net's weights and buffers, gradients and Adam moments, under
    the step.* keys the C++ parity tests read."""
    for net, model, optimizer in (("G", G, g_optimizer), ("D", D, d_optimizer)):
        state("step." + net + ".", model, out)
        for name, p in model.named_parameters():
            out["step.grad." + net + "." + name] = p.grad.clone()
            moments = optimizer.state[p]
            out["step.adam." + net + "." + name + ".exp_avg"] = moments["exp_avg"].clone()
            out["step.adam." + net + "." + name + ".exp_avg_sq"] = moments["exp_avg_sq"].clone()


def guard_cpu_convolutions():
    """As dcgan does (src/train/cpu_convolution_check.cpp): where this PyTorch's oneDNN gets float32
    CPU convolutions wrong (Debian 13's 2.6.0+dfsg-7), the reference turns it off too."""
    if not torch.backends.mkldnn.enabled:
        return
    gen = torch.Generator().manual_seed(20261130)
    shapes = [(F.conv2d, (3, 2, 16, 16), (24, 2, 3, 3), 1, 1), (F.conv2d, (3, 4, 8, 8), (12, 4, 3, 3), 1, 1),
              (F.conv_transpose2d, (3, 5, 1, 1), (5, 2, 4, 4), 2, 1),
              (F.conv_transpose2d, (3, 100, 1, 1), (100, 64, 4, 4), 1, 0)]
    for op, input_shape, weight_shape, stride, padding in shapes:
        x = torch.randn(input_shape, generator=gen, dtype=torch.float64)
        w = torch.randn(weight_shape, generator=gen, dtype=torch.float64)
        results = []
        for dtype in (torch.float64, torch.float32):
            xi, wi = x.to(dtype).requires_grad_(), w.to(dtype).requires_grad_()
            out = op(xi, wi, stride=stride, padding=padding)
            results.append([out] + list(torch.autograd.grad(out, [xi, wi], torch.ones_like(out))))
        for exact, single in zip(*results):
            error = (single.double() - exact).abs().max().item()
            if not error <= 1e-3 * (1 + exact.abs().max().item()):
                print("%s: this PyTorch's oneDNN computes float32 CPU convolutions wrongly; "
                      "turned off" % os.path.basename(sys.argv[0]), file=sys.stderr)
                torch.backends.mkldnn.enabled = False
                return


def generate(folder):
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(12)
    G = Generator(Z_SIZE, CONV_DIM)
    D = Discriminator(CONV_DIM)
    torch.save(G.state_dict(), folder + "/G.pt")
    torch.save(D.state_dict(), folder + "/D.pt")
    # G.pt's weights in the other kinds of model file users hand to dcgan: TorchScript (import
    # reads its weights) and torch.save's legacy format; and a TorchScript module of no DCGAN layout.
    torch.jit.script(G).save(folder + "/G_scripted.pt")
    torch.save(G.state_dict(), folder + "/G_legacy.pt", _use_new_zipfile_serialization=False)
    torch.jit.script(nn.Linear(3, 2)).save(folder + "/linear_scripted.pt")

    images = torch.randint(0, 256, (BATCH, 3, 32, 32), dtype=torch.uint8)
    real = scale(images.float() / 255)  # ToTensor, then the notebook's scale
    z = torch.empty(BATCH, Z_SIZE).uniform_(-1, 1)
    z_for_d = torch.empty(BATCH, Z_SIZE).uniform_(-1, 1)
    z_for_g = torch.empty(BATCH, Z_SIZE).uniform_(-1, 1)
    e = {"images": images, "z": z, "z_for_d": z_for_d, "z_for_g": z_for_g}

    # Forward passes, each on a fresh copy: in train mode BatchNorm uses the batch's statistics and
    # updates its running ones.
    with torch.no_grad():
        for mode in ("train", "eval"):
            g, d = copy.deepcopy(G), copy.deepcopy(D)
            g.train(mode == "train")
            d.train(mode == "train")
            e["g_" + mode + ".out"] = g(z)
            e["d_" + mode + ".out"] = d(real)
            if mode == "train":
                state("g_train.", g, e)
                state("d_train.", d, e)

    # One training step in the notebook's order.
    d_optimizer = optim.Adam(D.parameters(), LR, [BETA1, BETA2])
    g_optimizer = optim.Adam(G.parameters(), LR, [BETA1, BETA2])
    G.train()
    D.train()
    d_optimizer.zero_grad()
    D_real = D(real)
    d_real_loss = real_loss(D_real)
    fake_images = G(z_for_d)
    D_fake = D(fake_images)
    d_fake_loss = fake_loss(D_fake)
    d_loss = d_real_loss + d_fake_loss
    d_loss.backward()
    for name, p in D.named_parameters():
        e["step.d_grad.D." + name] = p.grad.clone()
    d_optimizer.step()

    g_optimizer.zero_grad()
    fake_images = G(z_for_g)
    D_fake = D(fake_images)
    g_loss = real_loss(D_fake)
    g_loss.backward()
    g_optimizer.step()

    e["step.d_loss"] = d_loss.detach()
    e["step.g_loss"] = g_loss.detach()
    # G's gradients are g_loss's; D's hold d_loss's plus g_loss's (nothing zeroes them in between).
    record_step(e, G, g_optimizer, D, d_optimizer)
    torch.save(e, folder + "/expected.pt")

    # Files for the error tests: a whole model, a list, a dict of state_dicts.
    torch.save(G, folder + "/whole_model.pt")
    torch.save([1, 2, 3], folder + "/list.pt")
    torch.save({"G": G.state_dict(), "epoch": 3}, folder + "/nested.pt")
    print("notebook_reference: wrote %s (PyTorch %s)" % (folder, torch.__version__))


def compare(results, expected_outputs):
    """Prints each result's largest difference from the expected tensor; returns the failures."""
    failures = 0
    for name, actual in results.items():
        expected = expected_outputs[name].reshape(actual.shape)
        diff = (actual - expected).abs().max().item()
        tolerance = 1e-4 * expected.abs().max().item() + 1e-6
        ok = diff <= tolerance
        failures += not ok
        print("%s %s: largest difference %.3g (tolerance %.3g)" % ("ok  " if ok else "FAIL", name,
                                                                    diff, tolerance))
    return failures


def check_torchscript(folder, results, z, real):
    """dcgan's TorchScript exports, run with no model code, against the reference classes'
    results. Returns the failures."""
    G = torch.jit.load(folder + "/exported_G.ts")
    D = torch.jit.load(folder + "/exported_D.ts")
    with torch.no_grad():
        scripted = {"g_eval.out": G(z), "d_eval.out": D(real)}
        samples = G.sample(3)
    failures = compare(scripted, results)
    if tuple(samples.shape) != (3, 3, G.image_size, G.image_size) or samples.abs().max() > 1:
        print("FAIL sample(3): shape %s, largest |value| %.3g" % (tuple(samples.shape),
                                                                 samples.abs().max()))
        failures += 1
    return failures


def check(folder):
    outputs = load(folder + "/cpp_outputs.pt")
    g_state = load(folder + "/exported_G.pt")
    d_state = load(folder + "/exported_D.pt")
    z_size = g_state["fc.weight"].shape[1]
    conv_dim = d_state["conv1.0.weight"].shape[0]
    G = Generator(z_size, conv_dim)
    D = Discriminator(conv_dim)
    G.load_state_dict(g_state)  # strict: every key, no other
    D.load_state_dict(d_state)
    G.eval()
    D.eval()
    with torch.no_grad():
        results = {"g_eval.out": G(outputs["z"]),
                   "d_eval.out": D(scale(outputs["images"].float() / 255))}
    failures = compare(results, outputs)
    failures += check_torchscript(folder, results, outputs["z"],
                                  scale(outputs["images"].float() / 255))
    if failures:
        sys.exit("notebook_reference: %d tensor(s) differ between dcgan and the notebook" % failures)
    print("notebook_reference: dcgan's exported models compute the same in the notebook's classes "
          "(PyTorch %s)" % torch.__version__)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("generate", "check"):
        sys.exit(__doc__)
    torch.set_num_threads(1)
    guard_cpu_convolutions()
    {"generate": generate, "check": check}[sys.argv[1]](sys.argv[2])
