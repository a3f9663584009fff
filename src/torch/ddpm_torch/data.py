"""The course's data, read as the course reads it, and scaled as it scales it.

  CSV rows     one row per point, numbers separated by commas, an optional header line of names
               (data/README.md); every column standardised with its mean and population std, a
               constant column centred only (std 1), as src/app/normalise.cpp does.
  IDX files    IDX3 ubyte images (MNIST's) and IDX1 ubyte labels; pixels b / 127.5 - 1 in [-1, 1].
  PNG folder   every *.png file of a folder, in byte order of the names (names starting with '.'
               aside), each turned to grey as stb_image does (y = (77 r + 150 g + 29 b) >> 8), all of
               one size; the same scaling.
Every error is a DataError of one line naming the file.
"""
import math
import os
import struct
import zlib

import torch

from .errors import DataError


# ---- CSV rows ------------------------------------------------------------------------------------------
def _number(field):
    """The float of a field as the course's reader (strtof) takes it, or None when it is not a number."""
    if not field or "_" in field:
        return None
    try:
        return float(field)
    except ValueError:
        return None


def load_csv(path):
    """(header names or None, float32 tensor (rows, columns)) of a CSV file of numbers."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError("%s: cannot be read (%s)" % (path, e.strerror or e))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("%s: not UTF-8 text (a CSV file of numbers?)" % path)
    lines = text.split("\n")
    while lines and not lines[-1].strip(" \t\r"):
        lines.pop()
    if not lines:
        raise DataError("%s: empty file (no rows)" % path)
    rows, header, columns = [], None, None
    for number, line in enumerate(lines, 1):
        fields = [f.strip(" \t") for f in line.rstrip("\r").split(",")]
        values = [_number(f) for f in fields]
        if number == 1 and all(v is None for v in values) and any(fields):
            if any(not f for f in fields):
                raise DataError("%s:1: an empty name in the header line" % path)
            header = fields
            columns = len(fields)
            continue
        if columns is None:
            columns = len(fields)
        if len(fields) != columns:
            raise DataError("%s:%d: %d fields, expected %d" % (path, number, len(fields), columns))
        for f, v in zip(fields, values):
            if v is None:
                raise DataError("%s:%d: %s" % (path, number, "empty field" if not f else "'%s' is not a number" % f[:40]))
            if math.isnan(v) or math.isinf(v):
                raise DataError("%s:%d: '%s' is not a finite number" % (path, number, f[:40]))
        rows.append(values)
    if not rows:
        raise DataError("%s: a header line and no rows" % path)
    x = torch.tensor(rows, dtype=torch.float32)  # each value rounded to float, as strtof reads it
    if not bool(torch.isfinite(x).all()):
        raise DataError("%s: a value outside the float range" % path)
    return header, x


def fit_normalisation(x):
    """(mean, std) of each column as float64 lists: the mean, and the population std (divided by n) of
    the deviations from it (two passes); a std of 0 becomes 1. The sums run row by row in double, as
    src/diffusion/data.cpp adds them, so that the text written is the course's to the last digit."""
    n = x.shape[0]
    means, stds = [], []
    for column in x.to(torch.float64).t().tolist():
        total = 0.0
        for v in column:
            total += v
        mean = total / n
        squares = 0.0
        for v in column:
            squares += (v - mean) * (v - mean)
        std = math.sqrt(squares / n)
        means.append(mean)
        stds.append(std if std > 0 and math.isfinite(std) else 1.0)
    return means, stds


def standardise(x, mean, std):
    """(x - mean) / std in double, rounded once to float."""
    m = torch.tensor(mean, dtype=torch.float64)
    s = torch.tensor(std, dtype=torch.float64)
    return ((x.to(torch.float64) - m) / s).to(torch.float32)


# ---- IDX files ----------------------------------------------------------------------------------------
def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DataError("%s: cannot be read (%s)" % (path, e.strerror or e))


def read_idx(path, dims):
    """The uint8 tensor of an IDX ubyte file of `dims` dimensions (3 for images, 1 for labels)."""
    raw = _read(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise DataError("%s: not an IDX ubyte file (it starts with the bytes 0x00 0x00 0x08)" % path)
    if raw[3] != dims:
        raise DataError("%s: an IDX file of %d dimensions, expected %d" % (path, raw[3], dims))
    if len(raw) < 4 + 4 * dims:
        raise DataError("%s: ends inside its dimensions" % path)
    shape = list(struct.unpack(">%dI" % dims, raw[4:4 + 4 * dims]))
    count = 1
    for d in shape:
        count *= d
    if count == 0 or len(raw) != 4 + 4 * dims + count:
        raise DataError("%s: %d bytes of data for dimensions %s (%d values)" % (path, len(raw) - 4 - 4 * dims, shape, count))
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape).clone()


def bytes_to_unit(b):
    """Pixels 0..255 to [-1, 1]: b / 127.5 - 1 in float32, as src/diffusion/images.cpp."""
    return b.to(torch.float32) / 127.5 - 1.0


def load_images(path):
    """(n, 1, H, W) float32 images in [-1, 1] from an IDX3 ubyte file or a folder of PNG files."""
    if os.path.isdir(path):
        return bytes_to_unit(load_png_folder(path)).unsqueeze(1)
    raw_head = _read(path)[:8]
    if raw_head.startswith(b"\x89PNG"):
        raise DataError("%s: a single PNG file; give a folder of PNG files or an IDX3 file" % path)
    return bytes_to_unit(read_idx(path, 3)).unsqueeze(1)


def load_labels(path, n):
    """The n class labels of an IDX1 ubyte file (MNIST's train-labels-idx1-ubyte), as a long tensor."""
    labels = read_idx(path, 1)
    if labels.numel() != n:
        raise DataError("%s: %d labels for %d images" % (path, labels.numel(), n))
    return labels.long()


# ---- PNG files ------------------------------------------------------------------------------------------
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _unfilter(data, at, width_bytes, height, bpp, source):
    """Undoes the per-row filters (None, Sub, Up, Average, Paeth) of `height` rows; returns the rows and
    the offset after them."""
    rows, prev = [], bytearray(width_bytes)
    for _ in range(height):
        if at + 1 + width_bytes > len(data):
            raise DataError("%s: a damaged PNG file (its image data ends early)" % source)
        kind, row = data[at], bytearray(data[at + 1:at + 1 + width_bytes])
        at += 1 + width_bytes
        if kind == 1:
            for i in range(bpp, width_bytes):
                row[i] = (row[i] + row[i - bpp]) & 255
        elif kind == 2:
            for i in range(width_bytes):
                row[i] = (row[i] + prev[i]) & 255
        elif kind == 3:
            for i in range(width_bytes):
                row[i] = (row[i] + ((row[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif kind == 4:
            for i in range(width_bytes):
                a = row[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif kind != 0:
            raise DataError("%s: a damaged PNG file (filter type %d)" % (source, kind))
        rows.append(row)
        prev = row
    return rows, at


def _samples_of_row(row, width, samples, depth):
    """The row's samples as integers (16-bit samples whole, low depths unpacked)."""
    if depth == 8:
        return list(row[:width * samples])
    if depth == 16:
        return [(row[2 * i] << 8) | row[2 * i + 1] for i in range(width * samples)]
    out, per_byte, mask = [], 8 // depth, (1 << depth) - 1
    for i in range(width * samples):
        byte = row[i // per_byte]
        out.append((byte >> (8 - depth - (i % per_byte) * depth)) & mask)
    return out


def decode_png_grey(raw, source):
    """(height, width, bytes of grey) of a PNG file, colour turned to grey as stb_image does."""
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DataError("%s: not a PNG file" % source)
    at, idat, palette, ihdr = 8, [], None, None
    while at + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[at:at + 8])
        body = raw[at + 8:at + 8 + length]
        if len(body) != length or at + 12 + length > len(raw):
            raise DataError("%s: a damaged PNG file (chunk %r cut short)" % (source, kind))
        if zlib.crc32(kind + body) & 0xffffffff != struct.unpack(">I", raw[at + 8 + length:at + 12 + length])[0]:
            raise DataError("%s: a damaged PNG file (chunk %r fails its CRC)" % (source, kind.decode("latin-1")))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = [tuple(body[i:i + 3]) for i in range(0, len(body) - 2, 3)]
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        at += 12 + length
    if ihdr is None or not idat:
        raise DataError("%s: a damaged PNG file (no IHDR or no image data)" % source)
    width, height, depth, colour, _, _, interlace = ihdr
    samples = _SAMPLES.get(colour)
    if samples is None or depth not in (1, 2, 4, 8, 16) or width < 1 or height < 1 or width * height > 1 << 24:
        raise DataError("%s: a PNG of %d x %d, colour type %d, depth %d: not read" % (source, width, height, colour, depth))
    if colour == 3 and not palette:
        raise DataError("%s: an indexed PNG without a palette" % source)
    try:
        data = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise DataError("%s: a damaged PNG file (%s)" % (source, e))
    bpp = max(1, samples * depth // 8)
    pixels = [[None] * width for _ in range(height)]
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    at = 0
    for x0, y0, dx, dy in passes:
        pw, ph = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if pw < 1 or ph < 1:
            continue
        rows, at = _unfilter(data, at, (pw * samples * depth + 7) // 8, ph, bpp, source)
        for j, row in enumerate(rows):
            vals = _samples_of_row(row, pw, samples, depth)
            for i in range(pw):
                pixels[y0 + j * dy][x0 + i * dx] = vals[i * samples:(i + 1) * samples]
    grey = bytearray(width * height)
    scale = {1: 255, 2: 85, 4: 17}.get(depth, 1)
    for y in range(height):
        for x in range(width):
            s = pixels[y][x]
            if colour == 3:
                if s[0] >= len(palette):
                    raise DataError("%s: a damaged PNG file (palette index %d past its %d colours)" % (source, s[0], len(palette)))
                r, g, b = palette[s[0]]
                v = (r * 77 + g * 150 + b * 29) >> 8
            else:
                if colour in (2, 6):
                    r, g, b = s[0], s[1], s[2]
                    v = (r * 77 + g * 150 + b * 29) >> 8
                else:
                    v = s[0]
                v = v >> 8 if depth == 16 else v * scale
            grey[y * width + x] = v
    return height, width, bytes(grey)


def load_png_folder(path):
    """(n, H, W) uint8 grey images of every .png file of a folder (sorted by name; '.' files aside)."""
    try:
        names = sorted(n for n in os.listdir(path) if not n.startswith("."))
    except OSError as e:
        raise DataError("%s: cannot be read (%s)" % (path, e.strerror or e))
    images, size = [], None
    for name in names:
        file = os.path.join(path, name)
        if not name.lower().endswith(".png"):
            raise DataError("%s: not a .png file; a folder of images holds PNG files only" % file)
        h, w, grey = decode_png_grey(_read(file), file)
        if size is None:
            size = (h, w)
        elif size != (h, w):
            raise DataError("%s: %d x %d pixels, the folder's first image %d x %d" % (file, w, h, size[1], size[0]))
        images.append(torch.frombuffer(bytearray(grey), dtype=torch.uint8).reshape(h, w))
    if not images:
        raise DataError("%s: a folder without PNG files" % path)
    return torch.stack(images)
