"""Golden values for matmul and matmul_bias: torch.matmul / linear with the
bias and relu / tanh-GELU epilogues, forward and backward, including
transposes and a weight shared by a batch."""
import os

import torch

import agold

ACTS = {0: lambda z: z, 1: torch.relu,
        2: lambda z: torch.nn.functional.gelu(z, approximate="tanh")}


def product(a, b, ta, tb, bias, epilogue):
    x = a.transpose(-1, -2) if ta else a
    w = b.transpose(-1, -2) if tb else b
    z = torch.matmul(x, w)
    if bias is not None:
        z = z + bias
    return ACTS[epilogue](z)


def make_case(name, a_shape, b_shape, ta, tb, epilogue, with_bias):
    a = torch.randn(a_shape, dtype=torch.float64).requires_grad_(True)
    b = torch.randn(b_shape, dtype=torch.float64).requires_grad_(True)
    n = b_shape[-2] if tb else b_shape[-1]
    bias = torch.randn(n, dtype=torch.float64).requires_grad_(True) if with_bias else None
    inputs = [a, b] + ([bias] if with_bias else [])
    y = product(a, b, ta, tb, bias, epilogue)
    gy = torch.randn(y.shape, dtype=torch.float64)
    grads = torch.autograd.grad(y, inputs, gy)
    return agold.case(name, inputs, [y], i=[ta, tb, epilogue], grad_outputs=[gy],
                      grad_inputs=list(grads), rtol=1e-4, atol=1e-4)


def generate(outdir):
    matmul = [
        make_case("m3n5k7", (3, 7), (7, 5), 0, 0, 0, False),
        make_case("tatb", (6, 4), (5, 6), 1, 1, 0, False),
        make_case("batched_shared_b", (2, 3, 5), (5, 4), 0, 0, 0, False),
        make_case("batch2_ta_gelu", (2, 2, 4, 3), (2, 2, 4, 5), 1, 0, 2, False),
    ]
    linear = [
        make_case("linear", (2, 3, 7), (5, 7), 0, 1, 0, True),
        make_case("linear_relu", (4, 6), (3, 6), 0, 1, 1, True),
        make_case("linear_gelu", (2, 3, 7), (5, 7), 0, 1, 2, True),
        make_case("gelu_shared_b_ta", (2, 7, 3), (7, 4), 1, 0, 2, True),
    ]
    files = {"matmul_matmul.json": ("matmul", matmul),
             "matmul_matmul_bias.json": ("matmul_bias", linear)}
    for fname, (op, cases) in files.items():
        agold.write(os.path.join(outdir, fname), op, cases)
    return list(files)
