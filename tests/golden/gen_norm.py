"""Golden values for the normalisation ops: LayerNorm (with and without
affine), RMSNorm, GroupNorm and BatchNorm (training and eval), forward with
the saved statistics, and backward."""
import os

import torch
import torch.nn.functional as F

import agold

EPS = 1e-5


def grads(outputs, inputs, gy):
    """Input gradients of sum(gy * outputs[0]); None for inputs not needing one."""
    want = [t for t in inputs if t.requires_grad]
    got = iter(torch.autograd.grad(outputs[0], want, gy))
    return [next(got) if t.requires_grad else None for t in inputs]


def stats(xg):
    """Mean and rstd over the last dim, in f64 for reference accuracy."""
    x64 = xg.detach().double()
    return x64.mean(-1).float(), (x64.var(-1, unbiased=False) + EPS).rsqrt().float()


def layernorm_case(name, shape, affine, offset=0.0, tol=(1e-4, 1e-5)):
    x = (torch.randn(shape) + offset).requires_grad_(True)
    d = shape[-1]
    params = [torch.randn(d).requires_grad_(True) for _ in range(2)] if affine else []
    y = F.layer_norm(x, (d,), *params, eps=EPS) if affine else F.layer_norm(x, (d,), eps=EPS)
    mean, rstd = stats(x.reshape(-1, d))
    gy = torch.randn(shape)
    inputs = [x] + params
    return agold.case(name, inputs, [y, mean, rstd], f=[EPS], grad_outputs=[gy, None, None],
                      grad_inputs=grads([y], inputs, gy), rtol=tol[0], atol=tol[1])


def rmsnorm_case(name, shape):
    x = torch.randn(shape).requires_grad_(True)
    w = torch.randn(shape[-1]).requires_grad_(True)
    rstd = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)
    y = x * rstd * w
    gy = torch.randn(shape)
    return agold.case(name, [x, w], [y, rstd.detach().reshape(-1)], f=[EPS],
                      grad_outputs=[gy, None], grad_inputs=grads([y], [x, w], gy))


def groupnorm_case(name, shape, groups):
    x = torch.randn(shape).requires_grad_(True)
    w = torch.randn(shape[1]).requires_grad_(True)
    b = torch.randn(shape[1]).requires_grad_(True)
    y = F.group_norm(x, groups, w, b, eps=EPS)
    mean, rstd = stats(x.reshape(shape[0], groups, -1))
    gy = torch.randn(shape)
    return agold.case(name, [x, w, b], [y, mean, rstd], f=[EPS], i=[groups],
                      grad_outputs=[gy, None, None], grad_inputs=grads([y], [x, w, b], gy))


def batchnorm_case(name, shape, training, momentum=0.1):
    c = shape[1]
    x = torch.randn(shape).requires_grad_(True)
    w = torch.randn(c).requires_grad_(True)
    b = torch.randn(c).requires_grad_(True)
    run_mean, run_var = torch.randn(c), torch.rand(c) + 0.5
    new_mean, new_var = run_mean.clone(), run_var.clone()
    y = F.batch_norm(x, new_mean, new_var, w, b, training=training, momentum=momentum, eps=EPS)
    if training:
        mean, rstd = stats(x.transpose(0, 1).reshape(c, -1))
    else:
        mean, rstd = run_mean, (run_var + EPS).rsqrt()
    gy = torch.randn(shape)
    inputs = [x, w, b, run_mean, run_var]
    saved, running = torch.stack([mean, rstd]), torch.stack([new_mean, new_var])
    return agold.case(name, inputs, [y, saved, running], f=[EPS, momentum], i=[int(training)],
                      grad_outputs=[gy, None, None], grad_inputs=grads([y], inputs, gy))


def generate(outdir):
    files = {
        "norm_layernorm.json": ("layernorm", [
            layernorm_case("rows", (3, 7), True),
            layernorm_case("batch", (2, 3, 33), True),
            layernorm_case("offset", (4, 16), True, offset=100.0, tol=(1e-3, 1e-4)),
        ]),
        "norm_layernorm_noaffine.json": ("layernorm_noaffine", [
            layernorm_case("rows", (4, 9), False),
            layernorm_case("one_row", (1, 40), False),
        ]),
        "norm_rmsnorm.json": ("rmsnorm", [
            rmsnorm_case("rows", (3, 8)),
            rmsnorm_case("batch", (2, 2, 33)),
        ]),
        "norm_groupnorm.json": ("groupnorm", [
            groupnorm_case("ncl", (2, 6, 5), 3),
            groupnorm_case("nchw", (2, 4, 2, 3), 2),
            groupnorm_case("nc", (3, 6), 2),
        ]),
        "norm_batchnorm.json": ("batchnorm", [
            batchnorm_case("train_ncl", (4, 3, 5), True),
            batchnorm_case("train_nc", (6, 4), True),
            batchnorm_case("train_nchw", (2, 3, 2, 3), True, momentum=0.3),
            batchnorm_case("eval_ncl", (4, 3, 5), False),
        ]),
    }
    for fname, (op, cases) in files.items():
        agold.write(os.path.join(outdir, fname), op, cases)
    return list(files)
