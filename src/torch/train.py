#!/usr/bin/env python3
"""train.py: a course network trained with PyTorch, on one process or on many (torchrun, DDP), written
as a file that `ddpm import` turns into a course checkpoint.

    torchrun --nproc_per_node=N src/torch/train.py --data DATA --out MODEL.safetensors [options]
    python3 src/torch/train.py --data DATA --out MODEL.safetensors [options]        (one process)

DATA is what `ddpm train` takes: a CSV file of rows (the toy MLP), an IDX3 ubyte file or a folder of
PNG files of 28 x 28 (the CNN or a U-Net). The recipe is the course's (Algorithm 1 of Ho et al. 2020:
t ~ U{1..T}, eps ~ N(0, I), Adam, gradient-norm clipping, an EMA with the course's warm-up), with the
targets of lesson 11 (eps, x0, v, optional min-SNR weights) and its class-conditional U-Net (labels
dropped with probability --label-drop). The engine is PyTorch's: DistributedDataParallel averages the
gradients of the processes (gloo on CPUs, nccl on GPUs) and a DistributedSampler splits each epoch.

What makes N processes give the weights of one: --batch is the GLOBAL batch B (each process takes
B / N), an epoch is floor(rows / B) batches of one permutation (the DistributedSampler's, seeded with
--seed and the epoch), and the timesteps, noise and label drops of step k are drawn for the whole
global batch from one torch.Generator seeded with (seed << 32) + k, each process taking its own rows.
So the global batch, its draws and the averaged gradient are those of one process with batch B; only
the order of float additions differs (tests/test_torchrun.cpp measures it).

The output (rank 0 writes it at every checkpoint and at the end, atomically) is a safetensors file
of the EMA weights, named and laid out as `ddpm export` writes them, with the metadata of a course
checkpoint (src/torch/ddpm_torch/course.py says which entries and what train.py decides for those
it cannot know). Beside it, MODEL.safetensors.state (torch.save: weights, EMA, Adam, step, settings)
lets --resume continue, on any number of processes, and MODEL.safetensors.log (step, loss) is the log.
Run with --help for the options.
"""
import argparse
import math
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402
from torch.utils.data.distributed import DistributedSampler  # noqa: E402

from ddpm_torch import (DataError, arch_metadata, build_model, course_metadata, describe_arch, fit_normalisation,  # noqa: E402
                        load_csv, load_images, load_labels, load_twin, make_schedule, min_snr_weight, objective_of,
                        q_sample, save_course_file, schedule_from_metadata, standardise, training_target)

STATE_FORMAT = "ddpm_torch train state 1"
IMAGE_SIDE = 28  # what the course's image networks and its classifier take
# the counters of the course's random streams: a file started with --init keeps its own (course.py)
STREAM_KEYS = ("rng.index", "rng.t", "rng.eps", "rng.label_drop")


class Parser(argparse.ArgumentParser):
    """argparse with the course's errors: one line, exit status 2, printed by rank 0 alone."""

    def error(self, message):
        if os.environ.get("RANK", "0") == "0":
            print("train.py: %s (try --help)" % message, file=sys.stderr)
        sys.exit(2)


def parse_args(argv):
    p = Parser(
        prog="train.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a course network with PyTorch (one process, or many under torchrun with DDP) and write "
                    "a file that `ddpm import` turns into a course checkpoint.",
        epilog="Settings not given take the course's defaults (`ddpm train`: CSV batch 256, lr 1e-3; images batch "
               "128, lr 2e-4), or with --init the file's. With --resume every setting comes from the state file, and "
               "a flag that contradicts it is an error.")
    a = p.add_argument
    a("--data", required=True, help="CSV file of rows, IDX3 ubyte file, or folder of PNG files (28 x 28)")
    a("--out", required=True, help="the safetensors file to write (with .state and .log beside it)")
    a("--labels", help="IDX1 ubyte file of the images' classes (for --classes)")
    a("--init", help="start from a course file (`ddpm export` of a checkpoint, or train.py's output): its network, "
                     "weights, schedule, objective and normalisation")
    a("--resume", action="store_true", help="continue from OUT.state (any number of processes)")
    a("--arch", choices=["mlp", "cnn", "unet"], help="default: mlp for CSV rows, unet for images")
    a("--block", choices=["residual", "convnext"], help="the U-Net's blocks (default residual)")
    a("--channels", help="the U-Net's widths c0,c1,c2 (default 32,64,64; multiples of 8)")
    a("--classes", type=int, help="class-conditional U-Net with this many classes (needs --labels)")
    a("--label-drop", type=float, help="probability of dropping a label (default 0.1)")
    a("--hidden", type=int, help="the MLP's width (default 64)")
    a("--layers", type=int, help="the MLP's hidden layers or residual blocks (default 3)")
    a("--residual", action="store_true", default=None, help="residual MLP blocks")
    a("--act", choices=["gelu", "relu", "silu"], help="the MLP's activation (default gelu)")
    a("--objective", choices=["eps", "x0", "v"], help="what the network predicts (default eps; lesson 11)")
    a("--min-snr", type=float, help="min-SNR-gamma loss weights with this gamma (default: none)")
    a("--schedule", choices=["linear", "cosine", "sigmoid", "constant"], help="default linear")
    a("--beta", type=float, help="the beta of --schedule constant (default 0.01)")
    a("--T", type=int, help="diffusion steps (default 1000)")
    a("--steps", type=int, help="optimiser steps in all (default 20000; with --init: steps of this run)")
    a("--batch", type=int, help="the GLOBAL batch, split over the processes")
    a("--lr", type=float, help="Adam's learning rate")
    a("--ema", type=float, help="EMA decay, with the course's warm-up min(D, (1 + n) / (10 + n)) (default 0.999)")
    a("--clip", type=float, help="gradient-norm clipping (default 1)")
    a("--seed", type=int, help="seed of the weights, the epochs' order and the draws (default 0)")
    a("--checkpoint-every", type=int, default=1000, help="save every K steps (default 1000)")
    a("--threads", type=int, help="torch threads per process (default: torch's; torchrun sets 1)")
    a("--backend", choices=["auto", "gloo", "nccl"], default="auto", help="auto: nccl on GPUs, gloo on CPUs")
    a("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: cuda where a GPU is seen")
    a("--log-every", type=float, default=10.0, help="seconds between progress lines (default 10)")
    return p.parse_args(argv)


class Stop(Exception):
    """A one-line error: printed by rank 0, exit status 1."""


# ---- the settings of a run ---------------------------------------------------------------------------
DEFAULTS = {"block": "residual", "channels": "32,64,64", "classes": 0, "label_drop": 0.1, "hidden": 64, "layers": 3,
            "residual": False, "act": "gelu", "objective": "eps", "min_snr": 0.0, "schedule": "linear", "beta": 0.01,
            "T": 1000, "steps": 20000, "ema": 0.999, "clip": 1.0, "seed": 0}
RUN_KEYS = ("arch", "block", "channels", "classes", "label_drop", "hidden", "layers", "residual", "act", "objective",
            "min_snr", "schedule", "beta", "T", "steps", "batch", "lr", "ema", "clip", "seed")


def settings_of(args, images, init_meta):
    """The run's settings: the flags given, else the --init file's, else the course's defaults."""
    s = {k: getattr(args, k) for k in RUN_KEYS}
    s["emb_dim"], s["zero_head"] = 32, True  # not flags: the course's; an --init file's own below
    if init_meta is not None:
        arch = describe_arch(init_meta)
        s["emb_dim"], s["zero_head"] = arch.get("emb_dim", 32), arch.get("zero_head", True)
        for k, v in (("arch", arch["arch"]), ("block", arch.get("block")), ("classes", arch.get("classes")),
                     ("channels", ",".join(str(c) for c in arch["channels"]) if "channels" in arch else None),
                     ("hidden", arch.get("hidden")), ("layers", arch.get("layers")), ("residual", arch.get("residual")),
                     ("act", arch.get("act")), ("objective", objective_of(init_meta)),
                     ("T", int(init_meta["schedule.T"]))):
            if v is None:
                continue
            if s[k] is not None and s[k] != v:
                raise Stop("--%s %s: %s has %s (drop the flag to continue it)" % (k.replace("_", "-"), s[k], args.init, v))
            s[k] = v
        if args.schedule is not None:
            raise Stop("--schedule: %s carries its own (%s)" % (args.init, init_meta["schedule.name"]))
        for k, key, kind in (("batch", "train.batch", int), ("lr", "train.lr", float), ("ema", "train.ema_decay", float),
                             ("clip", "train.clip", float), ("seed", "train.seed", int),
                             ("label_drop", "train.label_drop", float)):
            if s[k] is None and key in init_meta:
                s[k] = kind(float(init_meta[key]))
    if s["arch"] is None:
        s["arch"] = "unet" if images else "mlp"
    if s["batch"] is None:
        s["batch"] = 128 if images else 256
    if s["lr"] is None:
        s["lr"] = 2e-4 if images else 1e-3
    for k, v in DEFAULTS.items():
        if s[k] is None:
            s[k] = v
    return s


def check_settings(s, images, labels_given):
    if images and s["arch"] == "mlp":
        raise Stop("--arch mlp: the MLP takes CSV rows; images train --arch cnn or unet")
    if not images and s["arch"] != "mlp":
        raise Stop("--arch %s: takes images (an IDX3 file or a folder of PNG files), not CSV rows" % s["arch"])
    try:
        ch = [int(c) for c in s["channels"].split(",")]
    except ValueError:
        ch = []
    if len(ch) != 3 or any(c < 8 or c > 512 or c % 8 for c in ch):
        raise Stop("--channels %s: three multiples of 8 from 8 to 512, as 32,64,64" % s["channels"])
    if s["classes"] and (s["arch"] != "unet" or not (1 <= s["classes"] <= 1000)):
        raise Stop("--classes %d: a class-conditional U-Net of 1 to 1000 classes (--arch unet)" % s["classes"])
    if s["classes"] and not labels_given:
        raise Stop("--classes %d: needs --labels (an IDX1 ubyte file of the images' classes)" % s["classes"])
    if labels_given and not s["classes"]:
        raise Stop("--labels: applies to a class-conditional U-Net (--classes K)")
    for k, lo in (("steps", 1), ("batch", 1), ("T", 1), ("hidden", 1), ("layers", 1)):
        if s[k] < lo:
            raise Stop("--%s must be at least %d, got %d" % (k, lo, s[k]))
    if not (s["lr"] > 0 and math.isfinite(s["lr"])):
        raise Stop("--lr must be positive, got %g" % s["lr"])
    if not (0 <= s["ema"] < 1):
        raise Stop("--ema must lie in [0, 1), got %g" % s["ema"])
    if not (s["clip"] > 0 and math.isfinite(s["clip"])):
        raise Stop("--clip must be positive, got %g" % s["clip"])
    if not (0 <= s["label_drop"] <= 1):
        raise Stop("--label-drop must lie in [0, 1], got %g" % s["label_drop"])
    if s["min_snr"] < 0:
        raise Stop("--min-snr must be positive (or 0 for none), got %g" % s["min_snr"])
    if not (0 <= s["seed"] < 2 ** 31):
        raise Stop("--seed must be from 0 to 2^31 - 1, got %d" % s["seed"])


def arch_kwargs(s, columns):
    return {"arch": s["arch"], "channels": tuple(int(c) for c in s["channels"].split(",")), "block": s["block"],
            "zero_head": s.get("zero_head", True), "classes": s["classes"], "dim": columns, "emb_dim": s.get("emb_dim", 32),
            "hidden": s["hidden"],
            "layers": s["layers"], "residual": bool(s["residual"]), "act": s["act"]}


# ---- the processes ------------------------------------------------------------------------------------------
class World:
    """rank, size and device of this process; torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) when
    it is set, else one process on its own."""

    def __init__(self, args):
        self.distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
        self.rank = int(os.environ.get("RANK", "0"))
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
        if cuda and not torch.cuda.is_available():
            raise Stop("--device cuda: this PyTorch sees no GPU (torch.cuda.is_available() is False)")
        self.device = torch.device("cuda", self.local_rank) if cuda else torch.device("cpu")
        self.backend = args.backend if args.backend != "auto" else ("nccl" if cuda else "gloo")
        if self.backend == "nccl" and not cuda:
            raise Stop("--backend nccl: needs GPUs; on CPUs use gloo")
        if cuda:
            torch.cuda.set_device(self.device)

    def start(self):
        if self.distributed:
            dist.init_process_group(self.backend)

    def stop(self, together):
        """Leaves the process group; together: every process got here (a barrier first, so that none
        leaves while another still talks to it)."""
        if self.distributed and dist.is_initialized():
            if together:
                dist.barrier()
            dist.destroy_process_group()

    def agree(self, loss, stop_flag):
        """The mean loss over the processes and whether any of them was asked to stop."""
        if not self.distributed:
            return loss, stop_flag
        t = torch.tensor([loss, float(stop_flag)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t[0]) / self.size, float(t[1]) > 0


# ---- the data -------------------------------------------------------------------------------------------
def read_data(args, fixed):
    """(tensor of the training examples, labels or None, normalisation (mean, std, header) or None).
    CSV rows are standardised with `fixed` (mean, std) when given (--init, --resume), else their own."""
    images = os.path.isdir(args.data) or looks_like_idx(args.data)
    if images:
        x = load_images(args.data)
        if x.shape[2] != IMAGE_SIDE or x.shape[3] != IMAGE_SIDE:
            raise Stop("%s: images of %d x %d pixels; the course's networks take 28 x 28"
                       % (args.data, x.shape[3], x.shape[2]))
        labels = load_labels(args.labels, x.shape[0]) if args.labels else None
        return x, labels, None
    header, rows = load_csv(args.data)
    if fixed is not None:
        mean, std = fixed
        if len(mean) != rows.shape[1]:
            raise Stop("%s: %d columns; the model was trained on %d" % (args.data, rows.shape[1], len(mean)))
    else:
        mean, std = fit_normalisation(rows)
    return standardise(rows, mean, std), None, (mean, std, header)


def looks_like_idx(path):
    """An IDX3 ubyte file starts with 0x00 0x00 0x08 0x03; anything else is read as CSV (as the tool
    tells them apart: by their bytes, not their names)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise DataError("%s: cannot be read (%s)" % (path, e.strerror or e))
    if head.startswith(b"\x89PN"):
        raise DataError("%s: a single PNG file; --data takes a folder of PNG files or an IDX3 file" % path)
    return head == b"\x00\x00\x08\x03"


def step_generator(seed, step):
    """The draws of step `step` (timesteps, noise, label drops) for the whole global batch."""
    return torch.Generator().manual_seed((seed << 32) + step)


def main(argv):
    args = parse_args(argv)
    world = World(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    say = (lambda *m: print(*m, file=sys.stderr, flush=True)) if world.rank == 0 else (lambda *m: None)

    init_meta = init_model = None
    state = None
    state_path, log_path = args.out + ".state", args.out + ".log"
    if args.resume:
        if args.init:
            raise Stop("--resume continues %s; --init starts a new run (give one of them)" % state_path)
        if not os.path.exists(state_path):
            raise Stop("--resume: no %s (a run of train.py writes it beside --out)" % state_path)
        try:
            state = torch.load(state_path, map_location="cpu")
        except Exception as e:  # a damaged or foreign file
            raise Stop("%s: not a state of train.py (%s)" % (state_path, str(e).splitlines()[0] if str(e) else type(e).__name__))
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise Stop("%s: not a state of train.py" % state_path)
        init_meta = state.get("init_meta")
    elif args.init:
        init_model, init_meta, _ = load_twin(args.init)

    fixed = None
    if state is not None and state.get("normalisation") is not None:
        fixed = state["normalisation"][:2]
    elif init_meta is not None and "data.mean" in init_meta:
        fixed = ([float(v) for v in init_meta["data.mean"].split()], [float(v) for v in init_meta["data.std"].split()])
    x, labels, normalisation = read_data(args, fixed)
    images = x.dim() == 4
    if state is not None:
        s = dict(state["settings"])
        for k in RUN_KEYS:
            given = getattr(args, k)
            if given is not None and given != s[k] and k != "steps":
                raise Stop("--resume: --%s %s differs from %s, which has %s (drop the flag)"
                           % (k.replace("_", "-"), given, state_path, s[k]))
        if args.steps is not None:
            s["steps"] = args.steps
        if state["data_rows"] != x.shape[0] or abs(state["data_sum"] - float(x.to(torch.float64).sum())) > 1e-6 * max(1.0, abs(state["data_sum"])):
            raise Stop("--resume: %s is not the data %s was trained on (%d rows there)" % (args.data, state_path, state["data_rows"]))
    else:
        s = settings_of(args, images, init_meta)
    check_settings(s, images, labels is not None)
    if labels is not None and (int(labels.min()) < 0 or int(labels.max()) >= s["classes"]):
        raise Stop("%s: labels from %d to %d; --classes %d takes 0 to %d"
                   % (args.labels, int(labels.min()), int(labels.max()), s["classes"], s["classes"] - 1))
    n, B, W = x.shape[0], s["batch"], world.size
    if B % W:
        raise Stop("--batch %d: the global batch must divide among the %d processes" % (B, W))
    if n < B:
        raise Stop("--batch %d: more than the %d %s of %s" % (B, n, "images" if images else "rows", args.data))
    init_step = int(init_meta.get("train.step", "0")) if init_meta is not None else 0

    if init_meta is not None:
        schedule = schedule_from_metadata(init_meta, args.init or state_path)
    else:
        schedule = make_schedule(s["schedule"], s["T"], s["beta"])
    torch.manual_seed(s["seed"])  # the same fresh weights on every process (DDP broadcasts rank 0's anyway)
    model = build_model(**arch_kwargs(s, x.shape[1] if not images else 1))
    if init_model is not None:
        model.load_state_dict(init_model.state_dict(), strict=True)
    model.to(world.device)
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimiser = torch.optim.Adam(model.parameters(), lr=s["lr"], betas=(0.9, 0.999), eps=1e-8)
    step, ema_updates = 0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        ema = {k: v.to(world.device) for k, v in state["ema"].items()}
        optimiser.load_state_dict(state["optimiser"])
        step, ema_updates = state["step"], state["ema_updates"]
        if step > s["steps"]:
            raise Stop("--resume: %s is at step %d, beyond --steps %d" % (state_path, step, s["steps"]))

    world.start()
    net = model
    if world.distributed:
        net = DistributedDataParallel(model, device_ids=[world.device.index] if world.device.type == "cuda" else None)
    x_dev = x.to(world.device)
    labels_dev = labels.to(world.device) if labels is not None else None
    alpha_bar = schedule.alpha_bar
    snr = schedule.snr
    per_rank = B // W
    batches_per_epoch = n // B
    sampler = DistributedSampler(range(n), num_replicas=W, rank=world.rank, shuffle=True, seed=s["seed"], drop_last=False)
    epoch, order = -1, None

    stop_signal = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop_signal.append(signum))

    def save():
        if world.rank != 0:
            return
        arch_meta = arch_metadata(**arch_kwargs(s, x.shape[1] if not images else 1))
        extra = {"torch.engine": "ddpm_torch train.py", "torch.version": torch.__version__,
                 "torch.processes": str(W), "torch.backend": world.backend if world.distributed else "none",
                 "torch.device": world.device.type}
        meta = course_metadata(arch_meta, schedule, B, s["lr"], s["ema"], s["clip"], s["seed"], init_step + step,
                               init_step + s["steps"], s["objective"], normalisation,
                               s["label_drop"] if s["classes"] else None, extra,
                               {k: init_meta[k] for k in STREAM_KEYS if init_meta is not None and k in init_meta})
        ema_model = build_model(**arch_kwargs(s, x.shape[1] if not images else 1))
        ema_model.load_state_dict({k: v.cpu() for k, v in ema.items()})
        save_course_file(args.out, ema_model, meta)
        blob = {"format": STATE_FORMAT, "settings": s, "step": step, "ema_updates": ema_updates,
                "model": {k: v.cpu() for k, v in model.state_dict().items()}, "ema": {k: v.cpu() for k, v in ema.items()},
                "optimiser": optimiser.state_dict(), "data_rows": n, "data_sum": float(x.to(torch.float64).sum()),
                "normalisation": normalisation, "init_meta": init_meta}
        tmp = "%s.%d.tmp" % (state_path, os.getpid())
        torch.save(blob, tmp)
        os.replace(tmp, state_path)

    what = ("%d images" % n) if images else ("%d rows of %d columns" % (n, x.shape[1]))
    say("train.py: %s, %s; %s, %d weights, %s, T = %d, objective %s; steps %d to %d; %d process%s (%s, %s), "
        "global batch %d (%d each)" % (args.data, what, s["arch"] if s["arch"] != "unet" else "unet (%s, %s%s)" % (
            s["block"], s["channels"], ", %d classes" % s["classes"] if s["classes"] else ""),
            sum(p.numel() for p in model.parameters()), schedule.name, schedule.T, s["objective"], step, s["steps"], W,
            "" if W == 1 else "es", world.backend if world.distributed else "no DDP", world.device.type, B, per_rank))
    if world.rank == 0 and not args.resume:
        with open(log_path, "w") as f:
            f.write("step\tloss\tseconds\n")
    log = open(log_path, "a") if world.rank == 0 else None
    t0, last_print, recent, losses = time.time(), time.time(), [], []
    tty = sys.stderr.isatty()
    first = step
    together = False  # every process left the loop at the same step (the end, or a stop all agreed on)
    try:
        while step < s["steps"]:
            e = step // batches_per_epoch
            if e != epoch:
                epoch = e
                sampler.set_epoch(epoch)
                order = torch.tensor(list(iter(sampler)), dtype=torch.long)
            k = step % batches_per_epoch
            idx = order[k * per_rank:(k + 1) * per_rank]  # global positions kB + rank + W i
            g = step_generator(s["seed"], step)
            t_all = torch.randint(1, schedule.T + 1, (B,), generator=g)
            eps_all = torch.randn((B,) + tuple(x.shape[1:]), generator=g)
            drop_all = torch.rand(B, generator=g)
            mine = slice(world.rank, B, W)
            t = t_all[mine]
            x0 = x_dev[idx.to(world.device)]
            eps = eps_all[mine].to(world.device)
            ab = alpha_bar[t]
            x_t = q_sample(x0, eps, ab)
            target = training_target(s["objective"], x0, eps, ab)
            y = None
            if labels_dev is not None:
                y = labels_dev[idx.to(world.device)].clone()
                y[drop_all[mine].to(world.device) < s["label_drop"]] = -1
            pred = net(x_t, t.to(world.device, torch.float64), y) if y is not None else net(x_t, t.to(world.device, torch.float64))
            per_example = ((pred - target) ** 2).reshape(per_rank, -1).mean(1)
            if s["min_snr"] > 0:
                per_example = per_example * min_snr_weight(s["objective"], snr[t], s["min_snr"]).to(per_example)
            loss = per_example.mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients over the processes here
            torch.nn.utils.clip_grad_norm_(model.parameters(), s["clip"])
            optimiser.step()
            with torch.no_grad():
                d = min(s["ema"], (1.0 + ema_updates) / (10.0 + ema_updates))
                for name, w in model.state_dict().items():
                    ema[name].mul_(d).add_(w, alpha=1.0 - d)
            ema_updates += 1
            step += 1
            mean_loss, stopping = world.agree(float(loss), bool(stop_signal))
            if not math.isfinite(mean_loss):
                raise Stop("step %d: the loss is %g; the last checkpoint (%s) is kept" % (step, mean_loss, args.out))
            recent.append(mean_loss)
            recent = recent[-100:]
            if log:
                log.write("%d\t%.6g\t%.3f\n" % (step, mean_loss, time.time() - t0))
            now = time.time()
            if step % args.checkpoint_every == 0 or step == s["steps"] or stopping:
                save()
            if stopping:
                together = True
                say("\ntrain.py: stopped at step %d; %s and %s hold it (--resume continues)" % (step, args.out, state_path))
                return 128 + (stop_signal[0] if stop_signal else signal.SIGTERM)
            if world.rank == 0 and (now - last_print >= (0.5 if tty else args.log_every) or step == s["steps"]):
                last_print = now
                rate = (step - first) / max(now - t0, 1e-9)
                eta = (s["steps"] - step) / max(rate, 1e-9)
                smooth = sum(recent) / len(recent)
                if tty:
                    done = int(30 * step / s["steps"])
                    sys.stderr.write("\r[%s%s] %d/%d loss %.4f %.1f steps/s ETA %s  " % (
                        "#" * done, "." * (30 - done), step, s["steps"], smooth, rate, duration(eta)))
                    sys.stderr.flush()
                else:
                    say("  step %d of %d  loss %.4f (last 100: %.4f)  %.1f steps/s  ETA %s"
                        % (step, s["steps"], mean_loss, smooth, rate, duration(eta)))
            losses.append(mean_loss)
        together = True
    finally:
        if log:
            log.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        net = None  # DDP holds the process group: released while every process is still there
        world.stop(together)
    if tty and world.rank == 0:
        sys.stderr.write("\n")
    if world.rank == 0:
        took = time.time() - t0
        print("model     %s, %d weights, objective %s" % (s["arch"], sum(p.numel() for p in model.parameters()), s["objective"]))
        print("schedule  %s, T = %d" % (schedule.name, schedule.T))
        print("training  steps %d to %d, global batch %d on %d process%s (%s), lr %g, ema %g, clip %g, seed %d"
              % (first, step, B, W, "" if W == 1 else "es", world.backend if world.distributed else "no DDP", s["lr"],
                 s["ema"], s["clip"], s["seed"]))
        if losses:
            print("loss      last %.4f, mean of the last 100 %.4f; %s, %.1f steps/s"
                  % (losses[-1], sum(recent) / len(recent), duration(took), (step - first) / max(took, 1e-9)))
        print("wrote     %s (EMA weights; `ddpm import --model %s --out M.ckpt` makes a course checkpoint)"
              % (args.out, args.out))
    return 0


def duration(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def leave(status):
    """Exits with `status`. Under torchrun the process leaves at once, once its output is flushed: a
    run of this test suite once saw rank 0 spin at interpreter exit, after the group was destroyed
    and everything written (torch 1.13, gloo, Python 3.11), with rank 1 gone."""
    if "RANK" in os.environ:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except (Stop, DataError) as e:
        if os.environ.get("RANK", "0") == "0":
            print("train.py: %s" % e, file=sys.stderr)
        code = 1
    leave(code)
