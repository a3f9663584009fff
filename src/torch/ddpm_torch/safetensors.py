"""Reading and writing safetensors files with json and torch alone (no `safetensors` package).

The format (Hugging Face's, as src/store/safetensors.h describes it): 8 bytes of little-endian
header length N, N bytes of JSON mapping each tensor's name to {"dtype", "shape", "data_offsets"}
plus an optional "__metadata__" object of strings, then the raw little-endian values. The course's
files hold float32 tensors only, and so do these functions.
"""
import json
import os
import struct
import sys

import torch

from .errors import DataError

MAX_HEADER = 100000000  # the most the course's reader (and the format's reference reader) accepts


def load_safetensors(path):
    """(state_dict of float32 tensors in the file's order, metadata dict of strings) of `path`.
    Raises DataError, one line naming the file, for anything that is not such a file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError("%s: cannot be read (%s)" % (path, e.strerror or e))
    if len(raw) < 8:
        raise DataError("%s: %d bytes, too short for a safetensors file" % (path, len(raw)))
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_HEADER or 8 + n > len(raw):
        raise DataError("%s: not a safetensors file (a header of %d bytes in a file of %d)" % (path, n, len(raw)))
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise DataError("%s: the safetensors header is not JSON (%s)" % (path, str(e).splitlines()[0]))
    if not isinstance(header, dict):
        raise DataError("%s: the safetensors header is not a JSON object" % path)
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise DataError("%s: __metadata__ is not an object of strings" % path)
    data = bytearray(raw[8 + n:])  # writable: torch.frombuffer shares its memory, clone() copies it out
    state = {}
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise DataError("%s: tensor '%s' has no dtype, shape or data_offsets" % (path, name))
        if dtype != "F32":
            raise DataError("%s: tensor '%s' has dtype %s; the course's files hold F32 only" % (path, name, dtype))
        count = 1
        for d in shape:
            count *= d
        if not (0 <= begin <= end <= len(data)) or end - begin != 4 * count:
            raise DataError("%s: tensor '%s': bytes %s..%s do not hold shape %s" % (path, name, begin, end, shape))
        if count == 0:
            state[name] = torch.zeros(shape, dtype=torch.float32)
        else:
            flat = torch.frombuffer(data, dtype=torch.float32, count=count, offset=begin)
            if sys.byteorder != "little":
                flat = flat.byteswap()  # pragma: no cover (every machine torch runs on is little-endian)
            state[name] = flat.reshape(shape).clone()
    return state, dict(metadata)


def safetensors_bytes(state, metadata=None):
    """The bytes of a safetensors file of `state` (name -> tensor, written as float32 in this order)
    with `metadata` (str -> str) as __metadata__; the header is padded with spaces so that the data
    starts at a multiple of 8, as the course's writer does."""
    header, tensors, offset = {}, [], 0
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("safetensors metadata must map strings to strings: %r -> %r" % (k, v))
        header["__metadata__"] = dict(metadata)
    for name, tensor in state.items():
        if name == "__metadata__":
            raise ValueError("safetensors: a tensor may not be named __metadata__")
        t = tensor.detach().to("cpu", torch.float32).reshape(-1)
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + 4 * t.numel()]}
        tensors.append(t)
        offset += 4 * t.numel()
    data = bytearray(offset)
    if offset:
        flat = torch.frombuffer(data, dtype=torch.float32)  # shares data's memory: the values land there
        if sys.byteorder != "little":
            raise RuntimeError("safetensors: writing on a big-endian machine is not supported")  # pragma: no cover
        at = 0
        for t in tensors:
            flat[at:at + t.numel()] = t
            at += t.numel()
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def write_atomic(path, data):
    """Writes bytes to path + '.tmp', then renames it over path: a reader never sees half a file."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_safetensors(path, state, metadata=None):
    """Writes a safetensors file atomically (a temporary name, then a rename)."""
    write_atomic(path, safetensors_bytes(state, metadata))
