"""Golden values for the elementwise activations (tanh GELU, SiLU)."""
import os

import torch

import agold


def activation_cases(fn):
    cases = []
    for shape in [(7,), (3, 11)]:
        x = (torch.randn(shape) * 2).requires_grad_(True)
        y = fn(x)
        gy = torch.randn(shape)
        (gx,) = torch.autograd.grad(y, x, gy)
        cases.append(agold.case(f"shape{len(shape)}", [x], [y], grad_outputs=[gy], grad_inputs=[gx]))
    return cases


def generate(outdir):
    files = {
        "elementwise_gelu.json": ("gelu", lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
        "elementwise_silu.json": ("silu", torch.nn.functional.silu),
    }
    for fname, (op, fn) in files.items():
        agold.write(os.path.join(outdir, fname), op, activation_cases(fn))
    return list(files)
