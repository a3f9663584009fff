"""The course's networks as torch.nn.Modules whose state_dict has exactly the names and shapes of
`ddpm export` (src/app/export.h): Linear weights (out, in), convolutions (out, in / groups, K, K).

  EpsMLP   the toy eps-model of src/nets/eps_mlp.h: [x | sinusoidal(t)] -> hidden layers -> eps,
           plain ("mlp.k") or residual ("input", "block.k.fc1/fc2", an activation, "output").
  ImageCNN [003]'s CNN of src/nets/cnn.h ("time_mlp.k", "convs.k").
  UNet     the U-Net of src/nets/unet.h (lesson 09), residual or ConvNeXt blocks, any widths, and
           with classes > 0 lesson 11's class-conditional one: a table "label" of classes + 1 rows
           added to the time embedding, the last row meaning "no label".

Fresh weights follow the course's laws: Linear and convolution weights and biases uniform in
+-1/sqrt(fan_in) (torch's own default for both), norms at 1 and 0, a zero label table, and with
zero_head the U-Net's last convolution at zero. The draws are torch's, not the course's Rng.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .schedules import timestep_embedding

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}  # GELU: the exact (erf) form, as the course's
TIME_FEATURES, TIME_DIM, GROUPS, HEADS, CONVNEXT_MULT = 32, 128, 8, 4, 2


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

    def forward(self, x, t, labels=None):
        h = torch.cat([x, timestep_embedding(t, self.emb_dim)], 1)
        if self.residual:
            h = self.input(h)
            for b in self.block:
                h = b(h)
            return self.output(self.act(h))  # an activation before the last Linear, as the course's
        for k, layer in enumerate(self.mlp):
            h = layer(h)
            if k + 1 < len(self.mlp):
                h = self.act(h)
        return h


# ---- the image networks --------------------------------------------------------------------------
class ImageCNN(nn.Module):
    def __init__(self):
        super().__init__()
        sizes = [TIME_FEATURES, 128, 128, 16]
        self.time_mlp = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        chans = [1, 16, 32, 32, 16, 1]
        self.convs = nn.ModuleList([nn.Conv2d(chans[i], chans[i + 1], 7 if i < 4 else 3, padding=3 if i < 4 else 1)
                                    for i in range(5)])

    def forward(self, x, t, labels=None):
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
    """x + proj(attention(qkv(norm x))), 4 heads; q, k, v and the projection are 1x1 convolutions."""

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
    """28 -> 14 -> 7 with channels (c0, c1, c2), one block per level, attention at 7 x 7."""

    def __init__(self, block="residual", channels=(32, 64, 64), zero_head=True, classes=0):
        super().__init__()
        c0, c1, c2 = channels
        Block = ResBlock2d if block == "residual" else ConvNeXtBlock2d
        self.classes = classes
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
        if zero_head:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        if classes > 0:
            self.label = nn.Parameter(torch.zeros(classes + 1, TIME_DIM))  # last row: no label

    def forward(self, x, t, labels=None):
        """labels: (B,) integers 0..classes-1, or -1 (or None for all) meaning "no label"."""
        e = F.silu(self.time2(F.silu(self.time1(timestep_embedding(t, TIME_FEATURES)))))
        if self.classes > 0:
            if labels is None:
                rows = torch.full((x.shape[0],), self.classes, dtype=torch.long, device=x.device)
            else:
                rows = torch.where(labels < 0, torch.full_like(labels, self.classes), labels).long()
            e = e + self.label[rows]
        elif labels is not None:
            raise ValueError("UNet: labels given to an unconditional network")
        s0 = self.block0(self.stem(x), e)
        s1 = self.block1(self.down0(s0), e)
        h = self.mid2(self.attn(self.mid1(self.down1(s1), e)), e)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s1], 1), e)
        h = self.up0(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), s0], 1), e)
        return self.head(F.silu(self.head_norm(h)))
