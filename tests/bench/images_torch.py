#!/usr/bin/env python3
"""The image workloads of tests/bench/bench.cpp (cnn, unet) in PyTorch: the reference we measure against.

    images_torch.py bench WORKLOAD [--threads N] [--blocks K] [--block-steps S]
        prints  WORKLOAD-torch threads=N train_images_per_s=... sample_image_steps_per_s=... peak_rss_mb=...
    images_torch.py parity WORKLOAD IN OUT
        reads the weights, x_t, t and eps written by tests/test_torch_parity_images.cpp (IN), computes
        the loss mean((eps_theta(x_t, t) - eps)^2) and every gradient, writes them to OUT.

The networks are those of src/nets/cnn.h and src/nets/unet.h, written as functions of a dict of parameters named as
our Params lists name them (Linear weights stored (in, out), so F.linear gets their transpose):
  cnn:  channels 1-16-32-32-16-1, 7x7 kernels (padding 3), a 3x3 last layer, GELU; the time MLP
        32 -> 128 -> 128 -> 16 (GELU between) added to the 16 channels after the first convolution.
  unet: 28 -> 14 -> 7 with 32, 64, 64 channels (docs/performance.md has the exact shape).
Training: batch 128 of (1, 28, 28) images drawn from a fixed set of 1,024, t ~ U{1..1000}, linear
betas, Adam lr 1e-3. Sampling: 128 images, 10 ancestral steps (t = 1000 ... 991), sigma^2 = beta_tilde.
Text format of IN/OUT: blocks "name rows cols" and rows*cols numbers (a tensor of any shape as
(dim 0, the rest)).
"""
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

T, EMB, BATCH, DATASET, SAMPLE_IMAGES, SAMPLE_STEPS = 1000, 32, 128, 1024, 128, 10
GROUPS, HEADS, TIME_DIM = 8, 4, 128


def embedding(t, dim=EMB, max_period=10000.0):
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64)
    w = torch.exp(-math.log(max_period) * i / half)
    angle = t.to(torch.float64)[:, None] * w[None, :]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).to(torch.float32)


# ---- the layers, as functions of the parameter dict p ------------------------------------------
def conv(p, name, x, stride=1, pad=None):
    w = p[name + ".weight"]
    k = w.shape[-1]
    return F.conv2d(x, w, p[name + ".bias"], stride=stride, padding=(k - 1) // 2 if pad is None else pad)


def linear(p, name, x):
    return F.linear(x, p[name + ".weight"].t(), p[name + ".bias"])


def group_norm(p, name, x):
    return F.group_norm(x, GROUPS, p[name + ".weight"], p[name + ".bias"], eps=1e-5)


def res_block(p, name, x, e):
    h = conv(p, name + ".conv1", F.silu(group_norm(p, name + ".norm1", x)))
    h = h + linear(p, name + ".time", e)[:, :, None, None]
    h = conv(p, name + ".conv2", F.silu(group_norm(p, name + ".norm2", h)))
    return h + (conv(p, name + ".skip", x) if name + ".skip.weight" in p else x)


def attention(p, name, x):
    b, c, hh, ww = x.shape
    d = c // HEADS
    qkv = conv(p, name + ".qkv", group_norm(p, name + ".norm", x)).reshape(b, 3, HEADS, d, hh * ww)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # (B, heads, d, S)
    prob = (torch.einsum("bhci,bhcj->bhij", q, k) / math.sqrt(d)).softmax(-1)
    out = torch.einsum("bhcj,bhij->bhci", v, prob).reshape(b, c, hh, ww)
    return x + conv(p, name + ".proj", out)


def cnn(p, x, t):
    h = embedding(t)
    for i in range(3):
        h = linear(p, "time_mlp.%d" % i, h)
        if i < 2:
            h = F.gelu(h)
    x = F.gelu(conv(p, "convs.0", x) + h[:, :, None, None])
    for i in range(1, 4):
        x = F.gelu(conv(p, "convs.%d" % i, x))
    return conv(p, "convs.4", x)


def unet(p, x, t):
    e = F.silu(linear(p, "time2", F.silu(linear(p, "time1", embedding(t)))))
    s0 = res_block(p, "block0", conv(p, "stem", x), e)
    s1 = res_block(p, "block1", conv(p, "down0", s0, stride=2, pad=1), e)
    h = res_block(p, "mid1", conv(p, "down1", s1, stride=2, pad=1), e)
    h = res_block(p, "mid2", attention(p, "attn", h), e)
    h = res_block(p, "up1", torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s1], 1), e)
    h = res_block(p, "up0", torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s0], 1), e)
    return conv(p, "head", F.silu(group_norm(p, "head_norm", h)))


# ---- parameter lists with PyTorch-style initial values (for the bench) --------------------------
def spec_linear(out, name, n_in, n_out):
    out.append((name + ".weight", (n_in, n_out), n_in))
    out.append((name + ".bias", (n_out,), n_in))


def spec_conv(out, name, c_in, c_out, k):
    out.append((name + ".weight", (c_out, c_in, k, k), c_in * k * k))
    out.append((name + ".bias", (c_out,), c_in * k * k))


def spec_norm(out, name, c):
    out.append((name + ".weight", (c,), None))
    out.append((name + ".bias", (c,), 0))


def spec_block(out, name, c_in, c_out):
    spec_norm(out, name + ".norm1", c_in)
    spec_conv(out, name + ".conv1", c_in, c_out, 3)
    spec_linear(out, name + ".time", TIME_DIM, c_out)
    spec_norm(out, name + ".norm2", c_out)
    spec_conv(out, name + ".conv2", c_out, c_out, 3)
    if c_in != c_out:
        spec_conv(out, name + ".skip", c_in, c_out, 1)


def spec(workload):
    out = []
    if workload == "cnn":
        for i, (a, b) in enumerate([(EMB, 128), (128, 128), (128, 16)]):
            spec_linear(out, "time_mlp.%d" % i, a, b)
        chans = [1, 16, 32, 32, 16, 1]
        for i in range(5):
            spec_conv(out, "convs.%d" % i, chans[i], chans[i + 1], 7 if i < 4 else 3)
        return out
    spec_linear(out, "time1", EMB, TIME_DIM)
    spec_linear(out, "time2", TIME_DIM, TIME_DIM)
    spec_conv(out, "stem", 1, 32, 3)
    spec_block(out, "block0", 32, 32)
    spec_conv(out, "down0", 32, 32, 3)
    spec_block(out, "block1", 32, 64)
    spec_conv(out, "down1", 64, 64, 3)
    spec_block(out, "mid1", 64, 64)
    spec_norm(out, "attn.norm", 64)
    spec_conv(out, "attn.qkv", 64, 192, 1)
    spec_conv(out, "attn.proj", 64, 64, 1)
    spec_block(out, "mid2", 64, 64)
    spec_block(out, "up1", 128, 64)
    spec_block(out, "up0", 96, 32)
    spec_norm(out, "head_norm", 32)
    spec_conv(out, "head", 32, 1, 3)
    return out


def init_params(workload, gen):
    p = {}
    for name, shape, fan_in in spec(workload):
        if fan_in is None:
            p[name] = torch.ones(shape)
        elif fan_in == 0:
            p[name] = torch.zeros(shape)
        else:
            bound = 1.0 / math.sqrt(fan_in)
            p[name] = (torch.rand(shape, generator=gen) * 2 - 1) * bound
        p[name].requires_grad_(True)
    return p


def linear_schedule():
    t = torch.arange(1, T + 1, dtype=torch.float64)
    beta = torch.cat([torch.zeros(1, dtype=torch.float64), 1e-4 + (0.02 - 1e-4) * (t - 1) / (T - 1)])
    alpha = 1.0 - beta
    alpha_bar = torch.cumprod(alpha, 0)
    beta_tilde = torch.zeros_like(beta)
    beta_tilde[1:] = (1.0 - alpha_bar[:-1]) / (1.0 - alpha_bar[1:]) * beta[1:]
    return beta, alpha, alpha_bar, beta_tilde


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(workload, threads, blocks, block_steps):
    torch.set_num_threads(threads)
    model = cnn if workload == "cnn" else unet
    gen = torch.Generator().manual_seed(1)
    data = torch.randn(DATASET, 1, 28, 28, generator=gen).clamp(-1, 1)
    _, alpha, alpha_bar, beta_tilde = linear_schedule()
    sqrt_ab = alpha_bar.sqrt().to(torch.float32)
    sqrt_1m_ab = (1.0 - alpha_bar).sqrt().to(torch.float32)
    p = init_params(workload, gen)
    params = list(p.values())
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        x0 = data[torch.randint(0, DATASET, (BATCH,), generator=gen)]
        t = torch.randint(1, T + 1, (BATCH,), generator=gen)
        eps = torch.randn(BATCH, 1, 28, 28, generator=gen)
        x_t = sqrt_ab[t, None, None, None] * x0 + sqrt_1m_ab[t, None, None, None] * eps
        loss = torch.mean((model(p, x_t, t) - eps) ** 2)
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
                eps = model(p, x, torch.full((SAMPLE_IMAGES,), float(t), dtype=torch.float64))
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
    p = {}
    for name, shape, _ in spec(workload):
        p[name] = b[name].reshape(shape).clone().requires_grad_(True)
    x_t = b["x_t"].reshape(-1, 1, 28, 28)
    eps = b["eps"].reshape(x_t.shape)
    t = b["t"].to(torch.float64)
    model = cnn if workload == "cnn" else unet
    loss = torch.mean((model(p, x_t, t) - eps) ** 2)
    loss.backward()
    write_blocks(out_path, [("loss", loss.reshape(1, 1))] + [(name, p[name].grad) for name, _, _ in spec(workload)])


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
