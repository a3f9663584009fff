#!/usr/bin/env python3
"""The image workloads of tests/bench/bench.cpp (cnn, unet) in PyTorch: the reference we measure against.

    images_torch.py bench WORKLOAD [--threads N] [--blocks K] [--block-steps S]
        prints  WORKLOAD-torch threads=N train_images_per_s=... sample_image_steps_per_s=... peak_rss_mb=...
    images_torch.py parity WORKLOAD IN OUT
        reads the weights, x_t, t and eps written by tests/test_torch_parity_images.cpp (IN), computes
        the loss mean((eps_theta(x_t, t) - eps)^2) and every gradient, writes them to OUT.

The networks are those of src/nets/cnn.h and src/nets/unet.h, as the modules of src/torch/ddpm_torch (their
parameter names are our Params' names; IN and OUT hold Linear weights (in, out), as ours, transposed here):
  cnn:  channels 1-16-32-32-16-1, 7x7 kernels (padding 3), a 3x3 last layer, GELU; the time MLP
        32 -> 128 -> 128 -> 16 (GELU between) added to the 16 channels after the first convolution.
  unet: 28 -> 14 -> 7 with 32, 64, 64 channels (docs/performance.md has the exact shape).
Training: batch 128 of (1, 28, 28) images drawn from a fixed set of 1,024, t ~ U{1..1000}, linear
betas, Adam lr 1e-3. Sampling: 128 images, 10 ancestral steps (t = 1000 ... 991), sigma^2 = beta_tilde.
Text format of IN/OUT: blocks "name rows cols" and rows*cols numbers (a tensor of any shape as
(dim 0, the rest)).
"""
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "torch"))
from ddpm_torch import ImageCNN, UNet, linear_schedule as course_linear_schedule  # noqa: E402

T, BATCH, DATASET, SAMPLE_IMAGES, SAMPLE_STEPS = 1000, 128, 1024, 128, 10


def make_model(workload):
    """The course's network of the workload, from src/torch/ddpm_torch: [003]'s CNN, or the residual
    U-Net of 32-64-64 channels with a random last convolution (SmallUNet of src/nets/unet.h)."""
    return ImageCNN() if workload == "cnn" else UNet("residual", (32, 64, 64), zero_head=False)


def is_linear_weight(name, tensor):
    """A Linear weight: stored (in, out) by the course's Params, (out, in) by torch.nn.Linear."""
    return name.endswith(".weight") and tensor.dim() == 2


def linear_schedule():
    s = course_linear_schedule(T)
    return s.beta, s.alpha, s.alpha_bar, s.beta_tilde


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(workload, threads, blocks, block_steps):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    data = torch.randn(DATASET, 1, 28, 28, generator=gen).clamp(-1, 1)
    _, alpha, alpha_bar, beta_tilde = linear_schedule()
    sqrt_ab = alpha_bar.sqrt().to(torch.float32)
    sqrt_1m_ab = (1.0 - alpha_bar).sqrt().to(torch.float32)
    torch.manual_seed(1)
    model = make_model(workload)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        x0 = data[torch.randint(0, DATASET, (BATCH,), generator=gen)]
        t = torch.randint(1, T + 1, (BATCH,), generator=gen)
        eps = torch.randn(BATCH, 1, 28, 28, generator=gen)
        x_t = sqrt_ab[t, None, None, None] * x0 + sqrt_1m_ab[t, None, None, None] * eps
        loss = torch.mean((model(x_t, t) - eps) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(block_steps):
        step()
    rates = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(block_steps):
            step()
        rates.append(BATCH * block_steps / (time.perf_counter() - start))

    with torch.no_grad():
        sample_rates = []
        for _ in range(3):
            x = torch.randn(SAMPLE_IMAGES, 1, 28, 28, generator=gen)
            start = time.perf_counter()
            for t in range(T, T - SAMPLE_STEPS, -1):
                eps = model(x, torch.full((SAMPLE_IMAGES,), float(t), dtype=torch.float64))
                coef = float((1.0 - alpha[t]) / (1.0 - alpha_bar[t]).sqrt())
                mu = (x - coef * eps) / float(alpha[t].sqrt())
                x = mu + float(beta_tilde[t].sqrt()) * torch.randn(x.shape, generator=gen)
            sample_rates.append(SAMPLE_IMAGES * SAMPLE_STEPS / (time.perf_counter() - start))
    print("%s-torch threads=%d train_images_per_s=%.1f sample_image_steps_per_s=%.1f peak_rss_mb=%.1f"
          % (workload, threads, statistics.median(rates), statistics.median(sample_rates), peak_rss_mb()))
    sys.stdout.flush()


def read_blocks(path):
    words = open(path).read().split()
    blocks, i = {}, 0
    while i < len(words):
        name, rows, cols = words[i], int(words[i + 1]), int(words[i + 2])
        i += 3
        blocks[name] = torch.tensor([float(w) for w in words[i:i + rows * cols]], dtype=torch.float32)
        i += rows * cols
    return blocks


def write_blocks(path, blocks):
    with open(path + ".tmp", "w") as f:
        for name, tensor in blocks:
            tensor = tensor.detach().to(torch.float32).reshape(tensor.shape[0], -1)
            f.write("%s %d %d\n" % (name, tensor.shape[0], tensor.shape[1]))
            f.write(" ".join("%.9g" % v for v in tensor.flatten().tolist()) + "\n")
    os.replace(path + ".tmp", path)


def parity(workload, in_path, out_path):
    torch.set_num_threads(1)
    b = read_blocks(in_path)
    model = make_model(workload)
    with torch.no_grad():
        for name, param in model.named_parameters():
            value = b[name].reshape(param.shape[::-1] if param.dim() == 2 else param.shape)
            param.copy_(value.t() if is_linear_weight(name, param) else value)
    x_t = b["x_t"].reshape(-1, 1, 28, 28)
    eps = b["eps"].reshape(x_t.shape)
    t = b["t"].to(torch.float64)
    loss = torch.mean((model(x_t, t) - eps) ** 2)
    loss.backward()
    grads = [(name, param.grad.t() if is_linear_weight(name, param) else param.grad)
             for name, param in model.named_parameters()]
    write_blocks(out_path, [("loss", loss.reshape(1, 1))] + grads)


def main(argv):
    if len(argv) == 5 and argv[1] == "parity" and argv[2] in ("cnn", "unet"):
        parity(argv[2], argv[3], argv[4])
        return 0
    if len(argv) >= 3 and argv[1] == "bench" and argv[2] in ("cnn", "unet"):
        opts = {"--threads": 1, "--blocks": 5, "--block-steps": 3}
        i = 3
        while i < len(argv):
            if argv[i] not in opts or i + 1 >= len(argv):
                sys.exit("images_torch.py: bad argument %r" % argv[i])
            opts[argv[i]] = int(argv[i + 1])
            i += 2
        bench(argv[2], opts["--threads"], opts["--blocks"], opts["--block-steps"])
        return 0
    sys.exit("usage: images_torch.py bench cnn|unet [--threads N] [--blocks K] [--block-steps S] | "
             "parity cnn|unet IN OUT")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
