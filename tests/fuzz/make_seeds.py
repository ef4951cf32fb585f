#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/<harness>/ (Python's
standard library only). Run from anywhere: python3 tests/fuzz/make_seeds.py.
Each seed is small and valid, or valid but for one field, so the fuzzer
starts from inputs that reach deep into each reader."""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    os.makedirs(os.path.join(HERE, harness), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, harness, name), "wb") as f:
        f.write(data)


# ---- safetensors ------------------------------------------------------------

DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "U8": 1}


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape)] with bytes 0, 1, 2, ..."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = DTYPES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + n]}
        data += bytes(i % 251 for i in range(n))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


CONFIGS = {
    "classifier": {"height": 8, "width": 8, "c1": 2, "c2": 2, "hidden": 4, "classes": 3,
                   "norm_mean": 0.286, "norm_std": 0.353},
    "gpt": {"vocab": 256, "context": 8, "layers": 1, "width": 8, "heads": 2},
    "clip": {"vision.height": 8, "vision.width": 8, "vision.channels": 1, "vision.patch": 4,
             "vision.dim": 8, "vision.layers": 1, "vision.heads": 2, "text.vocab": 256,
             "text.context": 8, "text.dim": 8, "text.layers": 1, "text.heads": 2,
             "embed_dim": 4, "norm_mean": 0.286, "norm_std": 0.353},
    "ddpm": {"unet": {"height": 8, "width": 8, "channels": 1, "base": 8, "mult": [1, 2],
                      "attn": [0, 1], "blocks": 1, "head_dim": 8, "groups": 4, "classes": 10},
             "schedule": {"train_timesteps": 1000, "beta_schedule": "linear",
                          "beta_start": 0.0001, "beta_end": 0.02, "prediction": "epsilon"},
             "label_dropout": 0.1},
    "gan": {"height": 8, "width": 8, "zdim": 4, "g_channels": 4, "d_channels": 4,
            "classes": 10, "embed_dim": 4},
    "nerf": {"bound": 1.5, "levels": 4, "features": 2, "log2_table": 8, "base_res": 16,
             "per_level_scale": 1.5, "hidden": 8, "geo_features": 4, "occ_res": 8,
             "diagonal_steps": 64, "max_ray_samples": 64},
}


def seed_safetensors():
    put("safetensors", "empty", safetensors([]))
    put("safetensors", "every_dtype", safetensors(
        [(f"t.{d.lower()}", d, [2, 3]) for d in DTYPES]))
    put("safetensors", "shapes", safetensors(
        [("scalar", "F32", []), ("zero", "F32", [0, 5]), ("vec", "U8", [7]),
         ("four", "I32", [1, 2, 1, 2])]))
    for kind, config in CONFIGS.items():
        put("safetensors", f"meta_{kind}", safetensors(
            [("w", "F32", [2, 2]), (f"optim/m/w", "F32", [2, 2])],
            {"aigc.model": kind, "aigc.config": json.dumps(config, separators=(",", ":")),
             "optim.steps": "3"}))
    put("safetensors", "truncated", safetensors([("a", "F32", [2])])[:-4])


# ---- config -------------------------------------------------------------------

def seed_config():
    for kind, config in CONFIGS.items():
        put("config", kind, json.dumps(config, separators=(",", ":")))
    put("config", "gpt_huge", '{"vocab":1e300,"context":8,"layers":1,"width":8,"heads":2}')
    put("config", "nerf_fraction", json.dumps(dict(CONFIGS["nerf"], levels=2.5)))


# ---- idx ----------------------------------------------------------------------

IDX_TYPES = {0x08: "B", 0x09: "b", 0x0B: ">h", 0x0C: ">i", 0x0D: ">f", 0x0E: ">d"}


def idx(type_byte, dims):
    count = 1
    for d in dims:
        count *= d
    fmt = IDX_TYPES[type_byte]
    body = b"".join(struct.pack(fmt if fmt[0] == ">" else ">" + fmt, v % 100) for v in range(count))
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def seed_idx():
    put("idx", "labels_u8", idx(0x08, [6]))
    put("idx", "images_u8", idx(0x08, [2, 3, 3]))
    put("idx", "i8", idx(0x09, [4]))
    put("idx", "i16", idx(0x0B, [2, 2]))
    put("idx", "i32", idx(0x0C, [3]))
    put("idx", "f32", idx(0x0D, [1, 2, 2, 1]))
    put("idx", "f64", idx(0x0E, [2]))
    put("idx", "images_u8.gz", gzip.compress(idx(0x08, [2, 3, 3]), mtime=0))
    put("idx", "f32.gz", gzip.compress(idx(0x0D, [2, 2]), mtime=0))


# ---- png ----------------------------------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xffffffff)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png(w, h, colour, depth=8, interlace=0, palette=None):
    """Samples v(x, y, k) = (x * 40 + y * 70 + k * 90) mod 2^depth."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    top = (1 << depth) - 1

    def sample(x, y, k):
        v = (x * 40 + y * 70 + k * 90) % (top + 1)
        return v % len(palette) if colour == 3 else v

    def rows(xs, ys):
        out = b""
        for y in ys:
            bits = []
            for x in xs:
                for k in range(channels):
                    bits.append(sample(x, y, k))
            if depth == 16:
                line = b"".join(struct.pack(">H", v) for v in bits)
            elif depth == 8:
                line = bytes(bits)
            else:
                acc, n, line = 0, 0, bytearray()
                for v in bits:
                    acc, n = (acc << depth) | v, n + depth
                    if n == 8:
                        line.append(acc)
                        acc, n = 0, 0
                if n:
                    line.append(acc << (8 - n))
                line = bytes(line)
            out += b"\0" + line
        return out

    if interlace:
        raw = b"".join(rows(range(x0, w, dx), range(y0, h, dy)) if x0 < w and y0 < h else b""
                       for x0, y0, dx, dy in ADAM7)
    else:
        raw = rows(range(w), range(h))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0,
                                                               0, interlace))
    if palette:
        data += chunk(b"PLTE", bytes(c for rgb in palette for c in rgb))
    return data + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def seed_png():
    put("png", "gray8", png(5, 3, 0))
    put("png", "gray1", png(9, 2, 0, depth=1))
    put("png", "gray16", png(3, 3, 0, depth=16))
    put("png", "gray_alpha", png(4, 4, 4))
    put("png", "rgb8", png(4, 3, 2))
    put("png", "rgb16", png(2, 2, 2, depth=16))
    put("png", "rgba8", png(4, 4, 6))
    put("png", "rgba_interlaced", png(9, 9, 6, interlace=1))
    put("png", "palette4", png(6, 2, 3, depth=4, palette=[(255, 0, 0), (0, 255, 0), (0, 0, 255)]))
    put("png", "palette8", png(3, 3, 3, palette=[(i, 255 - i, 7) for i in range(0, 256, 32)]))


# ---- nerf scene, render jobs, cli -------------------------------------------------

def frame(i, extra=None):
    f = {"file_path": f"./train/r_{i}",
         "transform_matrix": [[1, 0, 0, 0], [0, 0, -1, -4], [0, 1, 0, 0.5 * i], [0, 0, 0, 1]]}
    f.update(extra or {})
    return f


def seed_scene():
    put("scene", "angle", json.dumps({"camera_angle_x": 0.69, "frames": [frame(0), frame(1)]}))
    put("scene", "focal_wh", json.dumps({"fl_x": 5.0, "fl_y": 4.5, "cx": 2, "cy": 2, "w": 4,
                                         "h": 4, "aabb_scale": 2, "frames": [frame(0)]}))
    put("scene", "per_frame", json.dumps({"w": 4, "h": 4, "frames": [
        frame(0, {"camera_angle_x": 0.7, "camera_angle_y": 0.6}), frame(1, {"fl_x": 3})]}))


def seed_job():
    put("job", "orbit", json.dumps({"jobs": [
        {"checkpoint": "nerf.safetensors", "orbit": 8, "res": "16x12", "frames": "2:5",
         "out": "frames", "depth": True, "aa": 2}]}))
    put("job", "cameras", json.dumps({"jobs": [
        {"checkpoint": "/abs/m.safetensors", "cameras": "cams.json", "out": "a"},
        {"checkpoint": "m.safetensors", "orbit": 1, "out": "b", "depth": False}]}))


def seed_cli():
    words = [
        ["--count", "12", "--lr=0.5", "--quiet", "name"],
        ["--seed=18446744073709551615", "--dtype", "bf16", "--views", "100,10,20"],
        ["--orbit", "30", "--res", "64x48", "--frames", "0:10", "--out", "o", "--aa=4",
         "--depth"],
        ["--cameras", "c.json", "--out=x", "--frames=3:2", "--unknown"],
        ["--count", "--lr", "nan", "fashion-mnist"],
    ]
    for i, w in enumerate(words):
        put("cli", f"words_{i}", "\0".join(w))


if __name__ == "__main__":
    seed_safetensors()
    seed_config()
    seed_idx()
    seed_png()
    seed_scene()
    seed_job()
    seed_cli()
