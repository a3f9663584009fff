#!/usr/bin/env python3
"""The PyTorch twins of ddpm.cpp's networks (the package src/torch/ddpm_torch: torch.nn.Modules whose
state_dict matches `ddpm export`, and a reader of safetensors files that needs nothing but json and
torch) run on an export, for tests/test_torch_twins.cpp.

    torch_twins.py check MODEL.safetensors IN OUT
        builds the twin that the file's metadata describes, loads the file's weights into it with
        load_state_dict(strict=True) (so every name and shape must match), then for the inputs of IN
        (written by tests/test_torch_twins.cpp) computes eps_theta(x, t) at the timesteps of block "t",
        and len(z) DDPM ancestral steps from x_T (t = T, T-1, ...) with the noise z, sigma^2 = beta_tilde.
        Writes eps_1, eps_2, ... and x_steps to OUT (the text blocks of tests/torch_parity.h).
    torch_twins.py describe MODEL.safetensors
        prints the twin's module tree and the file's metadata.

The modules (src/torch/ddpm_torch/nets.py; names and shapes are those of the export, src/app/export.h):
EpsMLP (the toy eps-model, plain or residual), ImageCNN ([003]'s CNN), UNet (residual or ConvNeXt
blocks, any widths, with lesson 11's label table when conditional). Linear weights are (out, in) in the
export (ours are (in, out) and the exporter transposes them), so torch.nn.Linear takes them as they are;
convolutions are (out, in / groups, K, K) on both sides.
"""
import os
import sys

import torch

# The twins live in the course's package (src/torch/ddpm_torch): the modules, the reader of the file,
# the schedule and the DDPM step. This script is the test's driver around them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "torch"))
from ddpm_torch import ddpm_step, load_twin  # noqa: E402


# ---- the text blocks of tests/torch_parity.h -------------------------------------------------------
def read_blocks(path):
    words = open(path).read().split()
    blocks, i = {}, 0
    while i < len(words):
        name, rows, cols = words[i], int(words[i + 1]), int(words[i + 2])
        i += 3
        blocks[name] = torch.tensor([float(w) for w in words[i:i + rows * cols]], dtype=torch.float32).reshape(rows, cols)
        i += rows * cols
    return blocks


def write_blocks(path, blocks):
    with open(path + ".tmp", "w") as f:
        for name, tensor in blocks:
            tensor = tensor.detach().to(torch.float32).reshape(tensor.shape[0], -1)
            f.write("%s %d %d\n" % (name, tensor.shape[0], tensor.shape[1]))
            f.write(" ".join("%.9g" % v for v in tensor.flatten().tolist()) + "\n")
    os.replace(path + ".tmp", path)


def check(model_path, in_path, out_path):
    torch.set_num_threads(1)
    model, meta, schedule = load_twin(model_path)
    b = read_blocks(in_path)
    image = meta.get("model.kind") == "image"
    shape = lambda v: v.reshape(-1, 1, 28, 28) if image else v  # noqa: E731
    x, rows = shape(b["x"]), b["x"].shape[0]
    # a conditional U-Net: one label per row (-1: none) when the block is there, else no label at all
    labels = b["labels"].flatten().long() if "labels" in b else None
    out = []
    with torch.no_grad():
        for k, t in enumerate(b["t"].flatten().tolist()):
            eps = model(x, torch.full((rows,), t, dtype=torch.float64), labels)
            out.append(("eps_%d" % (k + 1), eps.reshape(rows, -1)))
        x = shape(b["x_T"])
        for k in range(b["z"].shape[0]):
            t = schedule.T - k
            eps = model(x, torch.full((rows,), float(t), dtype=torch.float64), labels)
            x = ddpm_step(x, eps, t, schedule, shape(b["z"][k].reshape(rows, -1)))
    out.append(("x_steps", x.reshape(rows, -1)))
    write_blocks(out_path, out)


def main(argv):
    if len(argv) == 5 and argv[1] == "check":
        check(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 3 and argv[1] == "describe":
        model, meta, _ = load_twin(argv[2])
        print(model)
        for k in sorted(meta):
            if k != "schedule.beta_f64":
                print("%s = %s" % (k, meta[k]))
        return 0
    sys.exit("usage: torch_twins.py check MODEL.safetensors IN OUT | describe MODEL.safetensors")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
