#!/usr/bin/env python3
"""The toy2d workload of tests/bench/bench.cpp in PyTorch: the reference we measure against.

    toy2d_torch.py bench [--threads N] [--blocks K] [--block-steps S]
        prints  toy2d-torch threads=N train_steps_per_s=... sample_point_steps_per_s=... peak_rss_mb=...
    toy2d_torch.py parity IN OUT
        reads weights and a batch written by tests/test_torch_parity.cpp (IN), computes L_simple and
        every gradient with autograd, writes them to OUT in the same text format.

The workload is the one of bench.cpp, step for step: eps-MLP [x (2) | sinusoidal t-embedding (32)]
-> 128 -> 128 -> 128 -> 2 with exact (erf) GELU, batch 256 drawn with replacement from 10,000 points
of eight Gaussians, t ~ U{1..1000}, linear betas 1e-4 .. 0.02, loss mean((eps - eps_theta)^2),
Adam lr 1e-3, gradient-norm clipping at 1, EMA 0.999 of the weights. Sampling: 10,000 points,
100 ancestral steps (t = 1000 ... 901) with sigma_t^2 = beta_tilde_t, the whole batch per call.

Text format of IN/OUT: blocks "name rows cols" followed by rows*cols numbers, one block after
another; weights are stored (in, out) as in src/core/nn.h, so torch's Linear.weight is their transpose.
"""
import math
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "torch"))
from ddpm_torch import EpsMLP, linear_schedule as course_linear_schedule, timestep_embedding  # noqa: E402

HIDDEN, EMB, DIM, T = 128, 32, 2, 1000


def embedding(t, dim=EMB):
    """Sinusoidal embedding of timesteps t (shape (B,)) as src/core/kernels.cpp computes it (the package's;
    tests/bench/recipe_torch.py imports it from here)."""
    return timestep_embedding(t, dim)


def make_model():
    """The toy eps-model of src/nets/eps_mlp.h (plain, 3 hidden layers of 128, GELU), the package's."""
    return EpsMLP(DIM, EMB, HIDDEN, 3)


def linear_schedule():
    """beta_0..beta_T (beta_0 = 0), alpha, alpha_bar and beta_tilde of the course's linear schedule,
    T = 1000, in double (the package's; tests/bench/recipe_torch.py imports it from here)."""
    s = course_linear_schedule(T)
    return s.beta, s.alpha, s.alpha_bar, s.beta_tilde


def eight_gaussians(n, gen):
    k = torch.randint(0, 8, (n,), generator=gen)
    angle = k.to(torch.float32) * (2 * math.pi / 8)
    centres = torch.stack([torch.cos(angle), torch.sin(angle)], 1) * 2.0
    return centres + 0.1 * torch.randn(n, 2, generator=gen)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(threads, blocks, block_steps):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(1)
    data = eight_gaussians(10000, gen)
    _, alpha, alpha_bar, beta_tilde = linear_schedule()
    sqrt_ab = alpha_bar.sqrt().to(torch.float32)
    sqrt_1m_ab = (1.0 - alpha_bar).sqrt().to(torch.float32)
    model = make_model()
    params = list(model.parameters())
    ema = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-3)
    batch, ema_updates = 256, 0

    def step():
        nonlocal ema_updates
        x0 = data[torch.randint(0, data.shape[0], (batch,), generator=gen)]
        t = torch.randint(1, T + 1, (batch,), generator=gen)
        eps = torch.randn(batch, DIM, generator=gen)
        x_t = sqrt_ab[t, None] * x0 + sqrt_1m_ab[t, None] * eps
        pred = model(x_t, t)
        loss = torch.mean((pred - eps) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(0.999, (1 + ema_updates) / (10 + ema_updates))  # as src/core/optim.cpp's warm-up
        ema_updates += 1
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.mul_(decay).add_(p, alpha=1.0 - decay)
        return loss

    for _ in range(block_steps):
        step()
    rates = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(block_steps):
            step()
        rates.append(block_steps / (time.perf_counter() - start))

    rows, steps = 10000, 100
    with torch.no_grad():
        for e, p in zip(ema, params):
            p.copy_(e)
        sample_rates = []
        for _ in range(3):
            x = torch.randn(rows, DIM, generator=gen)
            start = time.perf_counter()
            for t in range(T, T - steps, -1):
                tt = torch.full((rows,), float(t), dtype=torch.float64)
                eps = model(x, tt)
                coef = float((1.0 - alpha[t]) / (1.0 - alpha_bar[t]).sqrt())
                mu = (x - coef * eps) / float(alpha[t].sqrt())
                x = mu + float(beta_tilde[t].sqrt()) * torch.randn(rows, DIM, generator=gen)
            sample_rates.append(rows * steps / (time.perf_counter() - start))
    print("toy2d-torch threads=%d train_steps_per_s=%.0f sample_point_steps_per_s=%.4g peak_rss_mb=%.1f"
          % (threads, statistics.median(rates), statistics.median(sample_rates), peak_rss_mb()))
    sys.stdout.flush()


def read_blocks(path):
    words = open(path).read().split()
    blocks, i = {}, 0
    while i < len(words):
        name, rows, cols = words[i], int(words[i + 1]), int(words[i + 2])
        i += 3
        values = [float(w) for w in words[i:i + rows * cols]]
        i += rows * cols
        blocks[name] = torch.tensor(values, dtype=torch.float32).reshape(rows, cols)
    return blocks


def write_blocks(path, blocks):
    with open(path + ".tmp", "w") as f:
        for name, tensor in blocks:
            tensor = tensor.detach().to(torch.float32).reshape(tensor.shape[0], -1)
            f.write("%s %d %d\n" % (name, tensor.shape[0], tensor.shape[1]))
            f.write(" ".join("%.9g" % v for v in tensor.flatten().tolist()) + "\n")
    os.replace(path + ".tmp", path)


def parity(in_path, out_path):
    torch.set_num_threads(1)
    b = read_blocks(in_path)
    model = make_model()
    linears = list(model.mlp)
    with torch.no_grad():
        for k, lin in enumerate(linears):
            lin.weight.copy_(b["mlp.%d.weight" % k].t())
            lin.bias.copy_(b["mlp.%d.bias" % k].reshape(-1))
    x0, eps, t = b["x0"], b["eps"], b["t"].reshape(-1).to(torch.float64)
    _, _, alpha_bar, _ = linear_schedule()
    ab = alpha_bar[t.long()]
    # x_t as src/diffusion/diffusion.cpp (q_sample) forms it: the coefficients rounded to float, the sum in float
    signal = ab.sqrt().to(torch.float32)[:, None]
    noise = (1.0 - ab).sqrt().to(torch.float32)[:, None]
    x_t = signal * x0 + noise * eps
    pred = model(x_t, t)
    loss = torch.mean((pred - eps) ** 2)
    loss.backward()
    out = [("loss", loss.reshape(1, 1))]
    for k, lin in enumerate(linears):
        out.append(("mlp.%d.weight" % k, lin.weight.grad.t()))
        out.append(("mlp.%d.bias" % k, lin.bias.grad.reshape(1, -1)))
    write_blocks(out_path, out)


def main(argv):
    if len(argv) >= 2 and argv[1] == "parity" and len(argv) == 4:
        parity(argv[2], argv[3])
        return 0
    if len(argv) >= 2 and argv[1] == "bench":
        opts = {"--threads": 1, "--blocks": 7, "--block-steps": 300}
        i = 2
        while i < len(argv):
            if argv[i] not in opts or i + 1 >= len(argv):
                sys.exit("toy2d_torch.py: bad argument %r" % argv[i])
            opts[argv[i]] = int(argv[i + 1])
            i += 2
        bench(opts["--threads"], opts["--blocks"], opts["--block-steps"])
        return 0
    sys.exit("usage: toy2d_torch.py bench [--threads N] [--blocks K] [--block-steps S] | parity IN OUT")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
