"""Golden values for the softmax family: softmax (scaled, causal with T != S),
log_softmax, fused cross-entropy (per-row losses and logsumexp, ignore_index,
label smoothing) and the mean MSE and Huber losses, forward and backward."""
import os

import torch
import torch.nn.functional as F

import agold


def grads(outputs, inputs, grad_outputs):
    """Input gradients of sum_k <grad_outputs[k], outputs[k]> (None: skipped)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if g is not None]
    total = sum((o * g).sum() for o, g in pairs)
    return torch.autograd.grad(total, inputs)


def causal_softmax(x, scale, causal):
    z = x * scale
    if causal:
        t, s = x.shape[-2], x.shape[-1]
        keep = torch.ones(t, s, dtype=torch.bool).tril(diagonal=s - t)
        z = z.masked_fill(~keep, float("-inf"))
    return torch.softmax(z, dim=-1)


def softmax_cases():
    cases = []
    for name, shape, scale, causal in [("plain", (3, 11), 0.0, 0), ("scaled", (2, 4, 13), 0.6, 0),
                                       ("causal", (2, 5, 9), 0.5, 1),
                                       ("causal_square", (6, 6), 0.0, 1)]:
        x = (torch.randn(shape) * 2).requires_grad_(True)
        y = causal_softmax(x, scale if scale else 1.0, causal)
        gy = torch.randn(shape)
        (gx,) = grads([y], [x], [gy])
        cases.append(agold.case(name, [x], [y], f=[scale], i=[causal], grad_outputs=[gy],
                                grad_inputs=[gx]))
    return cases


def log_softmax_cases():
    cases = []
    for name, shape in [("rows", (3, 11)), ("batched", (2, 3, 40))]:
        x = (torch.randn(shape) * 2).requires_grad_(True)
        y = torch.log_softmax(x, dim=-1)
        gy = torch.randn(shape)
        (gx,) = grads([y], [x], [gy])
        cases.append(agold.case(name, [x], [y], grad_outputs=[gy], grad_inputs=[gx]))
    return cases


def cross_entropy_cases():
    cases = []
    for name, n, c, ignore, smoothing, lse_grad in [
            ("plain", 6, 10, False, 0.0, False), ("ignore", 8, 5, True, 0.0, False),
            ("smooth_ignore", 7, 12, True, 0.1, False), ("lse_grad", 4, 9, False, 0.0, True)]:
        x = (torch.randn(n, c) * 2).requires_grad_(True)
        t = torch.randint(0, c, (n,), dtype=torch.int32)
        if ignore:
            t[::3] = -100
        loss = F.cross_entropy(x, t.long(), ignore_index=-100, label_smoothing=smoothing,
                               reduction="none")
        lse = torch.logsumexp(x, dim=-1)
        gl = torch.randn(n)
        glse = torch.randn(n) if lse_grad else None
        (gx,) = grads([loss, lse], [x], [gl, glse])
        cases.append(agold.case(name, [x, t], [loss, lse], f=[smoothing],
                                i=[-100, 1] if ignore else [0, 0], grad_outputs=[gl, glse],
                                grad_inputs=[gx, None]))
    return cases


def mean_loss_cases(fn, params):
    cases = []
    for name, shape, f in params:
        a = (torch.randn(shape) * 2).requires_grad_(True)
        b = (torch.randn(shape) * 2).requires_grad_(True)
        y = fn(a, b, f).reshape(1)
        gy = torch.randn(1)
        ga, gb = grads([y], [a, b], [gy])
        cases.append(agold.case(name, [a, b], [y], f=[f], grad_outputs=[gy], grad_inputs=[ga, gb]))
    return cases


def generate(outdir):
    files = {
        "softmax_softmax.json": ("softmax", softmax_cases),
        "softmax_log_softmax.json": ("log_softmax", log_softmax_cases),
        "softmax_cross_entropy.json": ("cross_entropy", cross_entropy_cases),
        "softmax_mse_loss.json": ("mse_loss", lambda: mean_loss_cases(
            lambda a, b, f: F.mse_loss(a, b), [("vector", (7,), 0.0), ("matrix", (3, 11), 0.0)])),
        "softmax_huber_loss.json": ("huber_loss", lambda: mean_loss_cases(
            lambda a, b, f: F.huber_loss(a, b, delta=f if f else 1.0),
            [("default_delta", (3, 11), 0.0), ("delta", (2, 3, 7), 0.5)])),
    }
    for fname, (op, make) in files.items():
        agold.write(os.path.join(outdir, fname), op, make())
    return list(files)
