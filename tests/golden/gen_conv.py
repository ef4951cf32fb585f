"""Golden values for the convolution family: conv2d (with and without bias),
conv_transpose2d, nearest 2x upsampling and average pooling, forward and
backward, from torch.nn.functional."""
import os

import torch
import torch.nn.functional as F

import agold


def params(stride, padding, dilation=(1, 1), groups=1, output_padding=0):
    """The op call's i[]: stride, padding, dilation, groups, output_padding."""
    return [stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups,
            output_padding]


def grad_case(name, fn, inputs, i, rtol=1e-4, atol=1e-4):
    inputs = [t.clone().requires_grad_(True) for t in inputs]
    y = fn(*inputs)
    gy = torch.randn(y.shape)
    grads = torch.autograd.grad(y, inputs, gy)
    return agold.case(name, inputs, [y], i=i, grad_outputs=[gy], grad_inputs=list(grads),
                      rtol=rtol, atol=atol)


CONVS = [  # name, x shape, w shape, stride, padding, dilation, groups
    ("s1p1", (2, 3, 7, 7), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ("s2p1", (2, 3, 7, 7), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ("odd", (1, 2, 5, 6), (3, 2, 2, 3), (2, 1), (0, 2), (1, 2), 1),
    ("groups2", (2, 4, 6, 5), (6, 2, 3, 3), (1, 1), (1, 1), (1, 1), 2),
]


def conv2d_cases(bias):
    cases = []
    for name, xs, ws, s, p, d, g in CONVS:
        ins = [torch.randn(xs), torch.randn(ws)] + ([torch.randn(ws[0])] if bias else [])
        fn = lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, s, p, d, g)
        cases.append(grad_case(name, fn, ins, params(s, p, d, g)))
    return cases


TRANSPOSED = [  # name, x shape, w shape, stride, padding, dilation, groups, output_padding
    ("s2p1op1", (2, 4, 4, 4), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 1, 1),
    ("s1p0", (2, 3, 5, 6), (3, 2, 3, 2), (1, 1), (0, 0), (1, 1), 1, 0),
    ("odd", (1, 2, 3, 5), (2, 3, 2, 3), (3, 2), (1, 0), (2, 1), 1, 1),
    ("groups2", (2, 4, 3, 4), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 2, 0),
]


def conv_transpose2d_cases():
    cases = []
    for name, xs, ws, s, p, d, g, op in TRANSPOSED:
        fn = lambda x, w: F.conv_transpose2d(x, w, None, s, p, op, g, d)
        cases.append(grad_case(name, fn, [torch.randn(xs), torch.randn(ws)],
                               params(s, p, d, g, op)))
    return cases


def upsample_cases():
    fn = lambda x: F.interpolate(x, scale_factor=2, mode="nearest")
    return [grad_case(f"s{k}", fn, [torch.randn(shape)], [])
            for k, shape in enumerate([(2, 3, 5, 7), (1, 1, 1, 1)])]


POOLS = [  # name, x shape, kernel, stride, padding
    ("k2s2", (2, 3, 8, 7), 2, 2, 0),
    ("k3s2p1", (1, 2, 9, 10), 3, 2, 1),
    ("k3s1", (2, 2, 5, 6), 3, 1, 0),
    ("k2s1p1", (1, 3, 4, 5), 2, 1, 1),
]


def avgpool_cases():
    cases = []
    for name, shape, k, s, p in POOLS:
        fn = lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=False, count_include_pad=True)
        cases.append(grad_case(name, fn, [torch.randn(shape)], [k, s, p]))
    return cases


def generate(outdir):
    files = {
        "conv_conv2d.json": ("conv2d", lambda: conv2d_cases(False)),
        "conv_conv2d_bias.json": ("conv2d_bias", lambda: conv2d_cases(True)),
        "conv_conv_transpose2d.json": ("conv_transpose2d", conv_transpose2d_cases),
        "conv_upsample_nearest2x.json": ("upsample_nearest2x", upsample_cases),
        "conv_avgpool2d.json": ("avgpool2d", avgpool_cases),
    }
    for fname, (op, make) in files.items():
        agold.write(os.path.join(outdir, fname), op, make())
    return list(files)
