"""Golden values for the elementwise ops: broadcast binary arithmetic
(forward and the gradients summed over broadcast dims) and the unary
functions, from PyTorch."""
import os

import torch

import agold

BROADCAST_SHAPES = [((2, 3, 5), (5,)), ((4, 1, 7), (1, 3, 1)), ((3, 4), (1,)), ((6,), (6,))]


def binary_cases(fn, positive_b=False):
    cases = []
    for sa, sb in BROADCAST_SHAPES:
        a = torch.randn(sa).requires_grad_(True)
        b = torch.randn(sb)
        if positive_b:
            b = b.abs() + 0.5
        b.requires_grad_(True)
        y = fn(a, b)
        gy = torch.randn(y.shape)
        ga, gb = torch.autograd.grad(y, (a, b), gy)
        name = "x".join(map(str, sa)) + "_" + "x".join(map(str, sb))
        cases.append(agold.case(name, [a, b], [y], grad_outputs=[gy], grad_inputs=[ga, gb]))
    return cases


def trunc_exp(x):
    """instant-ngp's truncated exponential: exp forward, exp(clamp(x, -15, 15)) backward."""

    class TruncExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return torch.exp(v)

        @staticmethod
        def backward(ctx, g):
            (v,) = ctx.saved_tensors
            return g * torch.exp(v.clamp(-15, 15))

    return TruncExp.apply(x)


def unary_cases(fn, lo, hi, f=()):
    cases = []
    for shape in [(7,), (3, 11)]:
        x = (torch.rand(shape) * (hi - lo) + lo).requires_grad_(True)
        y = fn(x)
        gy = torch.randn(shape)
        (gx,) = torch.autograd.grad(y, x, gy)
        cases.append(agold.case(f"shape{len(shape)}", [x], [y], f=f, grad_outputs=[gy],
                                grad_inputs=[gx], rtol=1e-4, atol=1e-5))
    return cases


def generate(outdir):
    F = torch.nn.functional
    binary = {
        "add": (torch.add, False),
        "sub": (torch.sub, False),
        "mul": (torch.mul, False),
        "div": (torch.div, True),
    }
    unary = {
        "gelu": (lambda x: F.gelu(x, approximate="tanh"), -3, 3, ()),
        "silu": (F.silu, -4, 4, ()),
        "exp": (torch.exp, -3, 3, ()),
        "log": (torch.log, 0.1, 5, ()),
        "sqrt": (torch.sqrt, 0.1, 5, ()),
        "rsqrt": (torch.rsqrt, 0.1, 5, ()),
        "relu": (F.relu, -2, 2, ()),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), -2, 2, (0.2,)),
        "sigmoid": (torch.sigmoid, -6, 6, ()),
        "tanh": (torch.tanh, -3, 3, ()),
        "softplus": (F.softplus, -25, 25, ()),
        "trunc_exp": (trunc_exp, -20, 20, ()),
    }
    written = []
    for op, (fn, positive_b) in binary.items():
        fname = f"elementwise_{op}.json"
        agold.write(os.path.join(outdir, fname), op, binary_cases(fn, positive_b))
        written.append(fname)
    for op, (fn, lo, hi, f) in unary.items():
        fname = f"elementwise_{op}.json"
        agold.write(os.path.join(outdir, fname), op, unary_cases(fn, lo, hi, f))
        written.append(fname)
    return written
