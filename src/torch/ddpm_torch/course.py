"""Files of the course: what `ddpm export` writes and `ddpm import` reads back, in both directions.

A course file is a safetensors file whose __metadata__ holds the entries of a course checkpoint
(docs/checkpoint-format.md) and four of `ddpm export`'s own:
  format = pt, ddpm.weights = ema | raw | single, ddpm.linear_weight_layout = out_in, ddpm.had_ema.
`load_twin` builds the module such a file describes and loads its weights with strict=True;
`course_metadata` writes the entries of a model trained here, the same keys `ddpm train` writes,
so that `ddpm import` makes a checkpoint of it that `ddpm sample`, `ddpm eval` and the lessons take.
"""
import struct


from .errors import DataError
from .nets import EpsMLP, ImageCNN, UNet
from .safetensors import load_safetensors, save_safetensors
from .schedules import OBJECTIVES, schedule_from_metadata


def _f32(v):
    """v rounded to float32, as a double: the course stores lr and the EMA decay as floats."""
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


def exact(v):
    """%.17g, the course's fmt_exact: the text reads back to the same double."""
    return "%.17g" % v


# ---- the architecture ----------------------------------------------------------------------------
def arch_metadata(arch, channels=(32, 64, 64), block="residual", zero_head=True, classes=0, dim=2, emb_dim=32,
                  hidden=64, layers=3, residual=False, act="gelu"):
    """The model.* (and unet.*) entries of a course network."""
    if arch == "mlp":
        return {"model.dim": str(dim), "model.emb_dim": str(emb_dim), "model.hidden": str(hidden),
                "model.layers": str(layers), "model.residual": "1" if residual else "0", "model.act": act}
    meta = {"model.kind": "image", "model.arch": arch}
    if arch == "unet":
        meta.update({"unet.block": block, "unet.channels": ",".join(str(c) for c in channels),
                     "unet.zero_head": "1" if zero_head else "0"})
        if classes > 0:
            meta["unet.classes"] = str(classes)
    return meta


def describe_arch(meta):
    """The keyword arguments of build_model for the network that metadata names."""
    if meta.get("model.kind") == "image":
        arch = meta.get("model.arch")
        if arch == "cnn":
            return {"arch": "cnn"}
        if arch != "unet":
            raise DataError("metadata 'model.arch' is %r, neither cnn nor unet" % arch)
        try:
            channels = tuple(int(c) for c in meta["unet.channels"].split(","))
            block, zero_head = meta["unet.block"], meta["unet.zero_head"] == "1"
            classes = int(meta.get("unet.classes", "0"))
        except (KeyError, ValueError):
            raise DataError("the U-Net's entries (unet.block, unet.channels, unet.zero_head) are missing or not numbers")
        if len(channels) != 3 or block not in ("residual", "convnext"):
            raise DataError("unet.channels must be three widths and unet.block residual or convnext")
        return {"arch": "unet", "block": block, "channels": channels, "zero_head": zero_head, "classes": classes}
    try:
        return {"arch": "mlp", "dim": int(meta["model.dim"]), "emb_dim": int(meta["model.emb_dim"]),
                "hidden": int(meta["model.hidden"]), "layers": int(meta["model.layers"]),
                "residual": meta["model.residual"] == "1", "act": meta["model.act"]}
    except (KeyError, ValueError):
        raise DataError("no model.kind = image and no toy-model entries (model.dim, model.hidden, ...): "
                        "not a diffusion model of the course")


def build_model(arch, channels=(32, 64, 64), block="residual", zero_head=True, classes=0, dim=2, emb_dim=32,
                hidden=64, layers=3, residual=False, act="gelu"):
    """A fresh course network (torch's draws, the course's laws)."""
    if arch == "mlp":
        return EpsMLP(dim, emb_dim, hidden, layers, residual, act)
    if arch == "cnn":
        return ImageCNN()
    if arch == "unet":
        return UNet(block, tuple(channels), zero_head, classes)
    raise DataError("unknown architecture %r (mlp, cnn or unet)" % arch)


def objective_of(meta):
    """eps (no entry), x0 or v: what the network predicts. A flow model is not a noise model."""
    objective = meta.get("model.objective", "eps")
    if objective not in OBJECTIVES:
        raise DataError("model.objective is %r; this package trains and reads %s" % (objective, ", ".join(OBJECTIVES)))
    return objective


# ---- reading -----------------------------------------------------------------------------------------
def load_twin(path):
    """(module holding the file's weights, metadata, schedule) of a course file (`ddpm export`, or
    train.py's output). Every name and shape must match (load_state_dict with strict=True)."""
    state, meta = load_safetensors(path)
    if meta.get("ddpm.linear_weight_layout") != "out_in":
        raise DataError("%s: no metadata 'ddpm.linear_weight_layout' = out_in: not a file of `ddpm export` "
                        "or of train.py" % path)
    if "blur.T" in meta:
        raise DataError("%s: a cold-diffusion model (lesson 10's blur), not a noise-diffusion model" % path)
    try:
        model = build_model(**describe_arch(meta))
    except DataError as e:
        raise DataError("%s: %s" % (path, e))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = [line.strip() for line in str(e).splitlines() if line.strip()][1:2] or [str(e)]
        raise DataError("%s: its weights do not fit the network its metadata describes (%s)" % (path, first[0]))
    model.eval()
    return model, meta, schedule_from_metadata(meta, path)


# ---- writing --------------------------------------------------------------------------------------
def course_metadata(arch_meta, schedule, batch, lr, ema_decay, clip, seed, step, steps_total, objective="eps",
                    normalisation=None, label_drop=None, extra=None, streams=None):
    """Every entry a course checkpoint of this model holds, in the course's order, with the four of
    `ddpm export` (the weights are the EMA's: ddpm.weights = ema, ddpm.had_ema = 1).

    What train.py cannot know is decided here: Adam's step adam.t = step (ddpm import resets it to 0:
    Adam's moments are not in the file); the counters of the course's random streams rng.index, rng.t,
    rng.eps (and rng.label_drop) = 0, since the draws were torch's: `ddpm train --resume` on the import
    starts those streams from their beginning; `streams` (key -> text) keeps a started file's counters
    instead. `normalisation` = (mean, std, header or None) for CSV rows.
    `extra` (str -> str) is appended: the course's readers ignore keys they do not know."""
    meta = dict(arch_meta)
    meta.update(schedule.metadata())
    meta.update({"train.batch": str(batch), "train.lr": exact(_f32(lr)), "train.ema_decay": exact(_f32(ema_decay)),
                 "train.clip": exact(float(clip)), "train.seed": str(seed), "train.step": str(step),
                 "adam.t": str(step), "ema.updates": str(step), "rng.index": "0", "rng.t": "0", "rng.eps": "0"})
    if objective != "eps":
        meta["model.objective"] = objective
    if label_drop is not None:
        meta["train.label_drop"] = exact(_f32(label_drop))
        meta["rng.label_drop"] = "0"
    for k, v in (streams or {}).items():
        if k in meta:
            meta[k] = v
    if normalisation is not None:
        mean, std, header = normalisation
        meta["data.columns"] = str(len(mean))
        meta["data.mean"] = " ".join(exact(v) for v in mean)
        meta["data.std"] = " ".join(exact(v) for v in std)
        if header:
            meta["data.header"] = ",".join(header)
    meta["tool.steps_total"] = str(steps_total)
    meta.update({"format": "pt", "ddpm.weights": "ema", "ddpm.linear_weight_layout": "out_in", "ddpm.had_ema": "1"})
    for k, v in (extra or {}).items():
        meta[k] = v
    return meta


def save_course_file(path, model, metadata):
    """The module's weights (its state_dict, names as the export's) with the metadata, atomically."""
    save_safetensors(path, {k: v for k, v in model.state_dict().items()}, metadata)
