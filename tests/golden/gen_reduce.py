"""Golden values for the reductions over one axis (sum, mean, max; forward
and backward, keepdim on and off, every axis of a 3-d tensor)."""
import os

import torch

import agold


def reduce_cases(fn):
    cases = []
    for shape in [(6,), (3, 4, 5)]:
        for axis in range(-len(shape), len(shape)):
            for keepdim in (0, 1):
                x = torch.randn(shape).requires_grad_(True)
                y = fn(x, axis, bool(keepdim))
                gy = torch.randn(y.shape)
                (gx,) = torch.autograd.grad(y, x, gy)
                cases.append(agold.case(f"d{len(shape)}_axis{axis}_keep{keepdim}", [x], [y],
                                        i=[axis, keepdim], grad_outputs=[gy], grad_inputs=[gx]))
    return cases


def generate(outdir):
    files = {
        "reduce_sum.json": ("sum", lambda x, a, k: x.sum(dim=a, keepdim=k)),
        "reduce_mean.json": ("mean", lambda x, a, k: x.mean(dim=a, keepdim=k)),
        # torch.max(dim) routes the gradient to the index it returns.
        "reduce_max.json": ("max", lambda x, a, k: x.max(dim=a, keepdim=k).values),
    }
    for fname, (op, fn) in files.items():
        agold.write(os.path.join(outdir, fname), op, reduce_cases(fn))
    return list(files)
