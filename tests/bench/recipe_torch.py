#!/usr/bin/env python3
"""The recipe of `ddpm train` and `ddpm sample` (the tool's CSV path) in PyTorch, with switches for the
ways a typical PyTorch implementation differs from it: a controlled experiment (issue 21) where each
switch changes one thing and tests/bench/defaults_suite.py's sets and `ddpm eval` score the result.

    recipe_torch.py TRAIN.csv OUT.csv [--seed S] [--steps N] [--threads K]
                    [--no-clip] [--t-from-0] [--no-ema-warmup] [--fresh-init]

With no switch it is our recipe, step for step (not bit for bit: the random streams are PyTorch's):
  - every column standardised with its mean and population std (src/app/normalise.cpp), undone on
    the samples;
  - eps-MLP [x | sinusoidal embedding of t (32, in double as src/core/kernels.cpp)] -> 128 -> 128 ->
    128 -> columns, exact (erf) GELU; weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as
    src/core/nn.cpp draws them (the same law as torch.nn.Linear's default initialisation: kaiming
    uniform with a = sqrt(5) gives that bound for the weights, and the bias bound is the same);
  - batch 256 with replacement, t ~ U{1..T}, linear betas 1e-4 .. 0.02 over T = 1000 (Ho et al.
    2020), L_simple (eq. 14) as the mean over the batch and the columns;
  - gradient-norm clipping at 1, Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), and an EMA of 0.999 with
    the warm-up d_k = min(0.999, (1 + k) / (10 + k)) (src/core/optim.cpp);
  - sampling 8,000 rows with Algorithm 2 from x_T ~ N(0, I), all T steps, sigma_t^2 = beta-tilde_t,
    with the EMA weights.
Switches:
  --no-clip        no gradient-norm clipping
  --t-from-0       t ~ U{0..T-1}, indexing betas[0..T-1] and embedding t itself (the 0-based
                   convention of many PyTorch codes; the network sees t - 1 for our t)
  --no-ema-warmup  the EMA starts from the initial weights with d = 0.999 at every update
  --fresh-init     re-initialise with torch.nn.Linear's own reset_parameters() (same law, other draws)
"""
import math
import sys
import time

import torch

from toy2d_torch import embedding, linear_schedule  # the embedding (32 wide, in double) and the betas, as ours

EMB, HIDDEN, LAYERS, T, BATCH = 32, 128, 3, 1000, 256


def read_csv(path):
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip()]
    header = None
    try:
        [float(v) for v in lines[0].split(",")]
    except ValueError:
        header, lines = lines[0], lines[1:]
    return header, torch.tensor([[float(v) for v in l.split(",")] for l in lines], dtype=torch.float64)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    train_path, out_path = argv[1], argv[2]
    seed, steps, threads, flags = 0, 20000, 1, set()
    i = 3
    while i < len(argv):
        a = argv[i]
        if a in ("--seed", "--steps", "--threads"):
            v = int(argv[i + 1])
            seed, steps, threads = (v, steps, threads) if a == "--seed" else (seed, v, threads) if a == "--steps" else (seed, steps, v)
            i += 2
        elif a in ("--no-clip", "--t-from-0", "--no-ema-warmup", "--fresh-init"):
            flags.add(a)
            i += 1
        else:
            sys.stderr.write("recipe_torch.py: unknown argument '%s'\n" % a)
            return 2
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    header, raw = read_csv(train_path)
    mean = raw.mean(0)
    std = ((raw - mean) ** 2).mean(0).sqrt()
    std[std <= 0] = 1.0
    data = ((raw - mean) / std).to(torch.float32)
    dim = data.shape[1]

    _, alpha, alpha_bar, beta_tilde = linear_schedule()  # T = 1000, as toy2d_torch.py's
    sqrt_ab = alpha_bar.sqrt().to(torch.float32)
    sqrt_1m_ab = (1.0 - alpha_bar).sqrt().to(torch.float32)

    sizes = [dim + EMB] + [HIDDEN] * LAYERS + [dim]
    layers = []
    for k in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[k], sizes[k + 1])
        if "--fresh-init" not in flags:
            bound = 1.0 / math.sqrt(sizes[k])
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.uniform_(-bound, bound, generator=gen)
        layers.append(lin)
        if k < len(sizes) - 2:
            layers.append(torch.nn.GELU())
    model = torch.nn.Sequential(*layers)
    params = list(model.parameters())
    ema = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)

    start = time.time()
    for k in range(steps):
        x0 = data[torch.randint(0, data.shape[0], (BATCH,), generator=gen)]
        if "--t-from-0" in flags:
            t_net = torch.randint(0, T, (BATCH,), generator=gen)
            t = t_net + 1
        else:
            t = torch.randint(1, T + 1, (BATCH,), generator=gen)
            t_net = t
        eps = torch.randn(BATCH, dim, generator=gen)
        x_t = sqrt_ab[t, None] * x0 + sqrt_1m_ab[t, None] * eps
        loss = torch.mean((model(torch.cat([x_t, embedding(t_net)], 1)) - eps) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if "--no-clip" not in flags:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = 0.999 if "--no-ema-warmup" in flags else min(0.999, (1 + k) / (10 + k))
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.mul_(decay).add_(p, alpha=1.0 - decay)
    trained = time.time()

    rows = 8000
    with torch.no_grad():
        for e, p in zip(ema, params):
            p.copy_(e)
        x = torch.randn(rows, dim, generator=gen)
        for t in range(T, 0, -1):
            t_net = t - 1 if "--t-from-0" in flags else t
            e = model(torch.cat([x, embedding(torch.full((rows,), float(t_net), dtype=torch.float64))], 1))
            coef = float((1.0 - alpha[t]) / (1.0 - alpha_bar[t]).sqrt())
            x = (x - coef * e) / float(alpha[t].sqrt())
            if t > 1:
                x = x + float(beta_tilde[t].sqrt()) * torch.randn(rows, dim, generator=gen)
    out = x.to(torch.float64) * std + mean
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        if header:
            f.write(header + "\n")
        for row in out.tolist():
            f.write(",".join("%.9g" % v for v in row) + "\n")
    import os
    os.replace(tmp, out_path)
    sys.stderr.write("recipe_torch.py: %d steps in %.1f s, sampling %.1f s\n" % (steps, trained - start, time.time() - trained))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
