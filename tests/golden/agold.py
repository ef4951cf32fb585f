"""Helpers for writing golden files: PyTorch results that pin aigc's CPU
reference kernels. A golden file is JSON:

    {"op": "<aigc op name>", "cases": [{
        "name": "...",
        "inputs": [{"shape": [...], "dtype": "f32"|"i32", "data": [...]}, ...],
        "f": [...], "i": [...],                 # the op call's parameters
        "outputs": [tensor or null, ...],       # null: not compared
        "grad_outputs": [tensor or null, ...],  # optional: run the backward
        "grad_inputs": [tensor or null, ...],   # expected input gradients
        "rtol": 1e-4, "atol": 1e-5}]}

tests/ops/test_golden.cpp runs every case through the CPU backend.
"""
import json
import os

import torch


def tensor(t):
    t = t.detach().cpu()
    dtype = "i32" if t.dtype in (torch.int32, torch.int64) else "f32"
    flat = t.reshape(-1)
    data = [int(v) for v in flat.tolist()] if dtype == "i32" else [float(v) for v in flat.float().tolist()]
    return {"shape": list(t.shape), "dtype": dtype, "data": data}


def maybe(t):
    return None if t is None else tensor(t)


def case(name, inputs, outputs, f=(), i=(), grad_outputs=None, grad_inputs=None,
         rtol=1e-4, atol=1e-5):
    c = {"name": name, "inputs": [tensor(t) for t in inputs], "f": list(f), "i": list(i),
         "outputs": [maybe(t) for t in outputs], "rtol": rtol, "atol": atol}
    if grad_outputs is not None:
        c["grad_outputs"] = [maybe(t) for t in grad_outputs]
        c["grad_inputs"] = [maybe(t) for t in grad_inputs]
    return c


def write(path, op, cases):
    """Writes to a temporary name, then renames: never a half-written file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"op": op, "cases": cases}, fh, separators=(",", ":"))
        fh.write("\n")
    os.replace(tmp, path)
