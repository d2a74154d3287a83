#!/usr/bin/env python3
"""pytorch/examples' DCGAN (dcgan/main.py, also PyTorch's DCGAN tutorial) at 64x64, as the reference
dcgan's --arch pytorch-examples is checked against.

  pytorch_examples_reference.py generate DIR  writes netG.pt and netD.pt (their state_dicts, netG's
                                              saved under DataParallel's `module.` prefix), images,
                                              noise, and what their networks and one training
                                              iteration of main.py compute from them (expected.pt)
  pytorch_examples_reference.py check DIR     loads the state_dicts dcgan exported (exported_G.pt,
                                              exported_D.pt) into their classes, strictly, and checks
                                              their outputs against dcgan's (cpp_outputs.pt)

Runs with Debian's python3-torch. The two classes are written here from the public description of
main.py (one nn.Sequential `main` each, activations inside it), so the state_dict keys are its keys:
G: ConvTranspose2d(nz, 8ngf, 4, 1, 0) then 4x4 stride-2 ConvTranspose2d layers halving the width,
BatchNorm2d + ReLU between, Tanh; D: 4x4 stride-2 Conv2d layers doubling the width, LeakyReLU(0.2),
BatchNorm2d on all but the first, then Conv2d(8ndf, 1, 4, 1, 0) and Sigmoid. Convolutions have no
bias; weights_init draws conv weights from N(0, 0.02), BatchNorm weights from N(1, 0.02).
"""
import copy
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torch.optim as optim
except ImportError:
    sys.exit("pytorch_examples_reference.py: PyTorch for Python is missing; install python3-torch "
             "(scripts/install_deps.sh does)")

# load: torch.load as users run it; state copies a model's tensors; record_step a step's results
from notebook_reference import guard_cpu_convolutions, load, record_step, state  # noqa: E402

NZ, NGF, NDF, NC = 8, 4, 4, 3
BATCH = 6
LR, BETA1, BETA2 = 0.0002, 0.5, 0.999


def up(cin, cout, last=False):
    """One doubling of the generator: transposed conv, then BatchNorm + ReLU unless it is the last."""
    layers = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]
    return layers + ([nn.Tanh()] if last else [nn.BatchNorm2d(cout), nn.ReLU(True)])


def down(cin, cout, norm=True):
    """One halving of the discriminator: strided conv, BatchNorm but on the first, leaky ReLU."""
    layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
    return layers + ([nn.BatchNorm2d(cout)] if norm else []) + [nn.LeakyReLU(0.2, inplace=True)]


class Generator(nn.Module):
    def __init__(self, nz=NZ, ngf=NGF):
        super().__init__()
        # nz x 1 x 1 -> 8ngf x 4 x 4 -> 4ngf x 8 x 8 -> 2ngf x 16 x 16 -> ngf x 32 x 32 -> 3 x 64 x 64
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf), *up(ngf, NC, last=True))

    def forward(self, noise):
        return self.main(noise)


class Discriminator(nn.Module):
    def __init__(self, ndf=NDF):
        super().__init__()
        # 3 x 64 x 64 -> ndf x 32 x 32 -> ... -> 8ndf x 4 x 4 -> 1 x 1 x 1
        self.main = nn.Sequential(
            *down(NC, ndf, norm=False), *down(ndf, ndf * 2), *down(ndf * 2, ndf * 4),
            *down(ndf * 4, ndf * 8), nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, images):
        return self.main(images).view(-1, 1).squeeze(1)


def weights_init(m):
    name = m.__class__.__name__
    if name.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def to_input(images):
    """ToTensor and Normalize((0.5,) * 3, (0.5,) * 3), as main.py's transform: uint8 -> [-1, 1]."""
    return (images.float() / 255 - 0.5) / 0.5


def generate(folder):
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(21)
    netG, netD = Generator(), Discriminator()
    netG.apply(weights_init)
    netD.apply(weights_init)
    # netG as nn.DataParallel saves it (main.py's --ngpu > 1): every key under `module.`.
    torch.save({"module." + k: v for k, v in netG.state_dict().items()}, folder + "/netG.pt")
    torch.save(netD.state_dict(), folder + "/netD.pt")

    images = torch.randint(0, 256, (BATCH, 3, 64, 64), dtype=torch.uint8)
    real = to_input(images)
    noise = torch.randn(BATCH, NZ, 1, 1)
    e = {"images": images, "noise": noise.view(BATCH, NZ)}
    with torch.no_grad():
        for mode in ("train", "eval"):
            g, d = copy.deepcopy(netG), copy.deepcopy(netD)
            g.train(mode == "train")
            d.train(mode == "train")
            e["g_" + mode + ".out"] = g(noise)
            # D's logit: the sigmoid's inverse of its output, which dcgan returns before the sigmoid.
            e["d_" + mode + ".prob"] = d(real)
            if mode == "train":
                state("g_train.", g, e)
                state("d_train.", d, e)

    # One iteration of main.py's loop.
    criterion = nn.BCELoss()
    optimizerD = optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, BETA2))
    optimizerG = optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, BETA2))
    netD.zero_grad()
    errD_real = criterion(netD(real), torch.full((BATCH,), 1.0))
    errD_real.backward()
    fake = netG(noise)
    errD_fake = criterion(netD(fake.detach()), torch.full((BATCH,), 0.0))
    errD_fake.backward()
    optimizerD.step()
    netG.zero_grad()
    errG = criterion(netD(fake), torch.full((BATCH,), 1.0))
    errG.backward()
    optimizerG.step()
    e["step.d_loss"] = (errD_real + errD_fake).detach()
    e["step.g_loss"] = errG.detach()
    record_step(e, netG, optimizerG, netD, optimizerD)
    torch.save(e, folder + "/expected.pt")
    print("pytorch_examples_reference: wrote %s (PyTorch %s)" % (folder, torch.__version__))


def check(folder):
    """The state_dicts dcgan exported in pytorch/examples' classes, and its TorchScript modules
    (exported_G.ts, exported_D.ts) loaded with torch.jit.load alone, against dcgan's outputs."""
    outputs = load(folder + "/cpp_outputs.pt")
    netG, netD = Generator(), Discriminator()
    netG.load_state_dict(load(folder + "/exported_G.pt"))  # strict: every key, no other
    netD.load_state_dict(load(folder + "/exported_D.pt"))
    netG.eval()
    netD.eval()
    failures = 0
    with torch.no_grad():
        z = outputs["z"]
        results = {"g_eval.out": netG(z.view(z.size(0), -1, 1, 1)),
                   "d_eval.prob": netD(to_input(outputs["images"]))}
        # dcgan's TorchScript exports, run with no model code: the same images and probabilities.
        G = torch.jit.load(folder + "/exported_G.ts")
        D = torch.jit.load(folder + "/exported_D.ts")
        scripted = {"g_eval.out": G(z).reshape(results["g_eval.out"].shape),
                    "d_eval.prob": D.probability(to_input(outputs["images"])).view(-1)}
    checks = [(name, actual, outputs[name]) for name, actual in results.items()]
    checks += [("torchscript " + name, actual, results[name]) for name, actual in scripted.items()]
    for name, actual, expected in checks:
        expected = expected.reshape(actual.shape)
        diff = (actual - expected).abs().max().item()
        tolerance = 1e-4 * expected.abs().max().item() + 1e-6
        ok = diff <= tolerance
        failures += not ok
        print("%s %s: largest difference %.3g (tolerance %.3g)" % ("ok  " if ok else "FAIL", name,
                                                                    diff, tolerance))
    if failures:
        sys.exit("pytorch_examples_reference: %d tensor(s) differ between dcgan and pytorch/examples"
                 % failures)
    print("pytorch_examples_reference: dcgan's exported models compute the same in "
          "pytorch/examples' classes (PyTorch %s)" % torch.__version__)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("generate", "check"):
        sys.exit(__doc__)
    torch.set_num_threads(1)
    guard_cpu_convolutions()
    {"generate": generate, "check": check}[sys.argv[1]](sys.argv[2])
