#!/usr/bin/env python3
"""Python peer for tests/io/test_safetensors.cpp: checks that files written by
aigc load in the `safetensors` package, and writes files for aigc to read.

  safetensors_peer.py check FILE   verify the file aigc wrote (values, metadata)
  safetensors_peer.py write FILE   write the file aigc reads back

Exit 0 on success, 77 when safetensors/numpy are not installed (the test then
skips), 1 on a mismatch (with the reason on stderr)."""
import json
import struct
import sys

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import save_file
except ImportError as e:  # the C++ test turns this into GTEST_SKIP
    print(f"missing Python package: {e}", file=sys.stderr)
    sys.exit(77)

# Must match kExpected* in test_safetensors.cpp.
EXPECTED = {
    "w.f32": ("F32", [2, 3], [i * 0.25 - 0.5 for i in range(6)]),
    "w.f16": ("F16", [4], [i * 0.5 - 1.0 for i in range(4)]),
    "w.bf16": ("BF16", [2, 2], [i * 1.5 - 2.0 for i in range(4)]),
    "w.i32": ("I32", [3], [-7, 0, 123456789]),
    "w.u8": ("U8", [5], [0, 1, 127, 128, 255]),
    "scalar": ("F32", [], [3.5]),
    "one": ("F32", [1], [-1.25]),
}
METADATA = {"model": "mlp", "config": '{"hidden": 256, "layers": 2}', "step": "1200"}


def fail(msg):
    print(f"safetensors_peer: {msg}", file=sys.stderr)
    sys.exit(1)


def bf16_raw(path, name):
    """numpy has no bfloat16: read the tensor's bytes via the header."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        begin, end = header[name]["data_offsets"]
        f.seek(8 + n + begin)
        return np.frombuffer(f.read(end - begin), dtype="<u2")


def check(path):
    with safe_open(path, framework="np") as f:
        if dict(f.metadata() or {}) != METADATA:
            fail(f"metadata {f.metadata()!r} != {METADATA!r}")
        if sorted(f.keys()) != sorted(EXPECTED):
            fail(f"keys {sorted(f.keys())} != {sorted(EXPECTED)}")
        for name, (dtype, shape, values) in EXPECTED.items():
            sl = f.get_slice(name)
            if sl.get_dtype() != dtype or list(sl.get_shape()) != shape:
                fail(f"{name}: {sl.get_dtype()}{sl.get_shape()} != {dtype}{shape}")
            if dtype == "BF16":
                want = (np.array(values, np.float32).view(np.uint32) >> 16).astype(np.uint16)
                got = bf16_raw(path, name)
            else:
                got = f.get_tensor(name).reshape(-1)
                want = np.array(values, dtype=got.dtype)
            if not np.array_equal(got, want):
                fail(f"{name}: values {got.tolist()} != {want.tolist()}")
    print("peer check ok")


def write(path):
    tensors = {
        "a": (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3),
        "b": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
        "c": np.array([10, 20, 30], dtype=np.uint8),
        "d": np.array([0.5, -1.5], dtype=np.float16),
        "s": np.array(2.5, dtype=np.float32),
    }
    save_file(tensors, path, metadata={"source": "python", "step": "42"})
    print("peer write ok")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "write"):
        fail("usage: safetensors_peer.py check|write FILE")
    (check if sys.argv[1] == "check" else write)(sys.argv[2])
