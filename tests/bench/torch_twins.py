#!/usr/bin/env python3
"""The networks of ddpm.cpp as torch.nn.Modules whose state_dict matches `ddpm export`, and a loader of
safetensors files that needs nothing but json and torch.

    torch_twins.py check MODEL.safetensors IN OUT
        builds the twin that the file's metadata describes, loads the file's weights into it with
        load_state_dict(strict=True) (so every name and shape must match), then for the inputs of IN
        (written by tests/test_torch_twins.cpp) computes eps_theta(x, t) at the timesteps of block "t",
        and len(z) DDPM ancestral steps from x_T (t = T, T-1, ...) with the noise z, sigma^2 = beta_tilde.
        Writes eps_1, eps_2, ... and x_steps to OUT (the text blocks of tests/torch_parity.h).
    torch_twins.py describe MODEL.safetensors
        prints the twin's module tree and the file's metadata.

The modules (names and shapes are those of the export, see src/app/export.h):
  EpsMLP      the toy eps-model of src/nets/eps_mlp.h: [x | sinusoidal(t)] -> hidden layers -> eps,
              plain ("mlp.k") or residual ("input", "block.k.fc1/fc2", then the activation and "output").
  ImageCNN    the CNN of src/nets/cnn.h ("time_mlp.k", "convs.k").
  UNet        the U-Net of src/nets/unet.h with residual or ConvNeXt blocks ("time1", "stem",
              "block0", "down0", ..., "attn", "head_norm", "head").
Linear weights are (out, in) in the export (ours are (in, out) and the exporter transposes them), so
torch.nn.Linear takes them as they are; convolutions are (out, in / groups, K, K) on both sides.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- reading a safetensors file with json and torch.frombuffer ------------------------------------
def load_safetensors(path):
    """Returns (state_dict, metadata) of a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = bytearray(raw[8 + n:])  # a writable buffer: torch.frombuffer shares its memory
    state = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError("%s: tensor %s has dtype %s, not F32" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        if end == begin:
            state[name] = torch.zeros(info["shape"], dtype=torch.float32)
        else:
            flat = torch.frombuffer(data, dtype=torch.float32, count=(end - begin) // 4, offset=begin)
            state[name] = flat.reshape(info["shape"]).clone()
    return state, metadata


def schedule_from_metadata(meta):
    """beta_0..beta_T (beta_0 = 0) as float64, exactly the checkpoint's doubles (%.17g text)."""
    beta = torch.tensor([float(v) for v in meta["schedule.beta_f64"].split()], dtype=torch.float64)
    alpha = 1.0 - beta
    alpha_bar = torch.cumprod(alpha, 0)
    beta_tilde = torch.zeros_like(beta)
    beta_tilde[1:] = (1.0 - alpha_bar[:-1]) / (1.0 - alpha_bar[1:]) * beta[1:]
    return beta, alpha, alpha_bar, beta_tilde


def timestep_embedding(t, dim, max_period=10000.0):
    """sin(t w_i) then cos(t w_i), w_i = max_period^(-i / (dim/2)), in double, rounded to float
    (src/core/kernels.cpp)."""
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64)
    w = torch.exp(-math.log(max_period) * i / half)
    angle = t.to(torch.float64)[:, None] * w[None, :]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).to(torch.float32)


ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}  # GELU: the exact (erf) form, as ours


# ---- the toy eps-model -------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    def __init__(self, width, hidden, act):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)
        self.act = ACTIVATIONS[act]()

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(x)))


class EpsMLP(nn.Module):
    def __init__(self, dim=2, emb_dim=32, hidden=128, layers=3, residual=False, act="gelu"):
        super().__init__()
        self.emb_dim, self.residual = emb_dim, residual
        self.act = ACTIVATIONS[act]()
        if residual:
            self.input = nn.Linear(dim + emb_dim, hidden)
            self.block = nn.ModuleList([ResidualBlock(hidden, hidden, act) for _ in range(layers)])
            self.output = nn.Linear(hidden, dim)
        else:
            sizes = [dim + emb_dim] + [hidden] * layers + [dim]
            self.mlp = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])

    def forward(self, x, t):
        h = torch.cat([x, timestep_embedding(t, self.emb_dim)], 1)
        if self.residual:
            h = self.input(h)
            for b in self.block:
                h = b(h)
            return self.output(self.act(h))  # an activation before the last Linear, as ours
        for k, layer in enumerate(self.mlp):
            h = layer(h)
            if k + 1 < len(self.mlp):
                h = self.act(h)
        return h


# ---- the image networks --------------------------------------------------------------------------
TIME_FEATURES, TIME_DIM, GROUPS, HEADS, CONVNEXT_MULT = 32, 128, 8, 4, 2


class ImageCNN(nn.Module):
    def __init__(self):
        super().__init__()
        sizes = [TIME_FEATURES, 128, 128, 16]
        self.time_mlp = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        chans = [1, 16, 32, 32, 16, 1]
        self.convs = nn.ModuleList([nn.Conv2d(chans[i], chans[i + 1], 7 if i < 4 else 3, padding=3 if i < 4 else 1)
                                    for i in range(5)])

    def forward(self, x, t):
        h = timestep_embedding(t, TIME_FEATURES)
        for k, layer in enumerate(self.time_mlp):
            h = layer(h)
            if k < 2:
                h = F.gelu(h)
        x = F.gelu(self.convs[0](x) + h[:, :, None, None])
        for conv in self.convs[1:4]:
            x = F.gelu(conv(x))
        return self.convs[4](x)


class ResBlock2d(nn.Module):
    """Ho et al.'s block: conv1(silu(norm1 x)) + time(e), conv2(silu(norm2 h)), + skip(x)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, c_in, eps=1e-5)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(TIME_DIM, c_out)
        self.norm2 = nn.GroupNorm(GROUPS, c_out, eps=1e-5)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x))) + self.time(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of every position of a (B, C, H, W) map."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, 1e-5).permute(0, 3, 1, 2)


class ConvNeXtBlock2d(nn.Module):
    """[003]'s block: depthwise7x7(x) + time(e), conv2(gelu(conv1 h)), channel LayerNorm, + skip(x)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 7, padding=3, groups=c_in)
        self.time = nn.Linear(TIME_DIM, c_in)
        self.conv1 = nn.Conv2d(c_in, CONVNEXT_MULT * c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(CONVNEXT_MULT * c_out, c_out, 3, padding=1)
        self.norm = ChannelLayerNorm(c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, e):
        h = self.depthwise(x) + self.time(e)[:, :, None, None]
        h = self.norm(self.conv2(F.gelu(self.conv1(h))))
        return h + (self.skip(x) if self.skip is not None else x)


class SelfAttention2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, c, eps=1e-5)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, hh, ww = x.shape
        d = c // HEADS
        qkv = self.qkv(self.norm(x)).reshape(b, 3, HEADS, d, hh * ww)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # (B, heads, d, positions)
        prob = (torch.einsum("bhci,bhcj->bhij", q, k) / math.sqrt(d)).softmax(-1)
        out = torch.einsum("bhcj,bhij->bhci", v, prob).reshape(b, c, hh, ww)
        return x + self.proj(out)


class UNet(nn.Module):
    def __init__(self, block="residual", channels=(32, 64, 64)):
        super().__init__()
        c0, c1, c2 = channels
        Block = ResBlock2d if block == "residual" else ConvNeXtBlock2d
        self.time1 = nn.Linear(TIME_FEATURES, TIME_DIM)
        self.time2 = nn.Linear(TIME_DIM, TIME_DIM)
        self.stem = nn.Conv2d(1, c0, 3, padding=1)
        self.block0 = Block(c0, c0)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.block1 = Block(c0, c1)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.mid1 = Block(c1, c2)
        self.attn = SelfAttention2d(c2)
        self.mid2 = Block(c2, c2)
        self.up1 = Block(c2 + c1, c1)
        self.up0 = Block(c1 + c0, c0)
        self.head_norm = nn.GroupNorm(GROUPS, c0, eps=1e-5)
        self.head = nn.Conv2d(c0, 1, 3, padding=1)

    def forward(self, x, t):
        e = F.silu(self.time2(F.silu(self.time1(timestep_embedding(t, TIME_FEATURES)))))
        s0 = self.block0(self.stem(x), e)
        s1 = self.block1(self.down0(s0), e)
        h = self.mid2(self.attn(self.mid1(self.down1(s1), e)), e)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s1], 1), e)
        h = self.up0(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s0], 1), e)
        return self.head(F.silu(self.head_norm(h)))


def twin_for(meta):
    """The module that the metadata of an export describes (untrained: load the weights next)."""
    if meta.get("model.kind") == "image":
        if meta["model.arch"] == "cnn":
            return ImageCNN()
        return UNet(meta["unet.block"], tuple(int(c) for c in meta["unet.channels"].split(",")))
    return EpsMLP(int(meta["model.dim"]), int(meta["model.emb_dim"]), int(meta["model.hidden"]),
                  int(meta["model.layers"]), meta["model.residual"] == "1", meta["model.act"])


def load_twin(path):
    """(module with the file's weights, metadata, schedule) for a file of `ddpm export`."""
    state, meta = load_safetensors(path)
    model = twin_for(meta)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, meta, schedule_from_metadata(meta)


def ddpm_step(x, eps, t, schedule, z):
    """x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) + sqrt(beta_tilde_t) z, no noise at t = 1."""
    beta, alpha, alpha_bar, beta_tilde = schedule
    coef = float(beta[t] / (1.0 - alpha_bar[t]).sqrt())
    mu = (x - coef * eps) / float(alpha[t].sqrt())
    return mu if t == 1 else mu + float(beta_tilde[t].sqrt()) * z


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
    out = []
    with torch.no_grad():
        for k, t in enumerate(b["t"].flatten().tolist()):
            eps = model(x, torch.full((rows,), t, dtype=torch.float64))
            out.append(("eps_%d" % (k + 1), eps.reshape(rows, -1)))
        x = shape(b["x_T"])
        T = len(schedule[0]) - 1
        for k in range(b["z"].shape[0]):
            t = T - k
            eps = model(x, torch.full((rows,), float(t), dtype=torch.float64))
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
