"""Golden values for the layout ops: concat, split and gather
(index_select), forward and backward, along every axis of a 3-d tensor."""
import os

import torch

import agold

SHAPE = (2, 5, 3)


def with_dim(shape, axis, n):
    s = list(shape)
    s[axis] = n
    return tuple(s)


def concat_cases():
    cases = []
    for axis in range(len(SHAPE)):
        a = torch.randn(with_dim(SHAPE, axis, 2)).requires_grad_(True)
        b = torch.randn(SHAPE).requires_grad_(True)
        y = torch.cat([a, b], dim=axis)
        gy = torch.randn(y.shape)
        ga, gb = torch.autograd.grad(y, [a, b], gy)
        cases.append(agold.case(f"axis{axis}", [a, b], [y], i=[axis - len(SHAPE)],
                                grad_outputs=[gy], grad_inputs=[ga, gb]))
    return cases


def split_cases():
    cases = []
    for axis in range(len(SHAPE)):
        first = 1 + SHAPE[axis] // 3
        for both in (True, False):
            x = torch.randn(SHAPE).requires_grad_(True)
            y0, y1 = torch.split(x, [first, SHAPE[axis] - first], dim=axis)
            g0 = torch.randn(y0.shape)
            g1 = torch.randn(y1.shape) if both else None
            outs, grads = ([y0, y1], [g0, g1]) if both else ([y0], [g0])
            (gx,) = torch.autograd.grad(outs, x, grads)
            cases.append(agold.case(f"axis{axis}_{'both' if both else 'first'}_grad", [x],
                                    [y0, y1], i=[axis, first], grad_outputs=[g0, g1],
                                    grad_inputs=[gx]))
    return cases


def gather_cases():
    cases = []
    for axis in range(len(SHAPE)):
        x = torch.randn(SHAPE).requires_grad_(True)
        idx = torch.randint(0, SHAPE[axis], (7,), dtype=torch.int32)
        y = torch.index_select(x, axis, idx)
        gy = torch.randn(y.shape)
        (gx,) = torch.autograd.grad(y, x, gy)
        cases.append(agold.case(f"axis{axis}", [x, idx], [y], i=[axis], grad_outputs=[gy],
                                grad_inputs=[gx, None]))
    return cases


def generate(outdir):
    files = {
        "layout_concat.json": ("concat", concat_cases),
        "layout_split.json": ("split", split_cases),
        "layout_gather.json": ("gather", gather_cases),
    }
    for fname, (op, make) in files.items():
        agold.write(os.path.join(outdir, fname), op, make())
    return list(files)
