"""Golden values for attention and attention_padded: the explicit formula
softmax(scale * q k^T + mask) v in float64 with autograd (Debian's PyTorch
predates F.scaled_dot_product_attention, whose is_causal would in any case
align the diagonal top-left where aigc, like FlashAttention 2, aligns it
bottom-right when Tq != Tk). lse is the log-sum-exp of the masked, scaled
scores. Every query keeps at least one visible key."""
import math
import os

import torch

import agold


def visible(tq, tk, causal, kv_len, b):
    """[B, 1, Tq, Tk] boolean mask: key j visible to query i."""
    i = torch.arange(tq).view(tq, 1)
    j = torch.arange(tk).view(1, tk)
    keep = torch.ones(tq, tk, dtype=torch.bool)
    if causal:
        keep = keep & (j <= i + tk - tq)
    lens = kv_len if kv_len is not None else torch.full((b,), tk)
    return keep.view(1, 1, tq, tk) & (j.view(1, 1, 1, tk) < lens.view(b, 1, 1, 1))


def attention_case(name, b, h, tq, tk, d, causal, padded, scale=0.0):
    gen = torch.Generator().manual_seed(1000 + tq * 31 + tk)
    q, k, v = (torch.randn(b, h, t, d, generator=gen, dtype=torch.float64) for t in (tq, tk, tk))
    kv_len = torch.randint(1, tk + 1, (b,), generator=gen, dtype=torch.int32) if padded else None
    for t in (q, k, v):
        t.requires_grad_(True)
    s = scale if scale else 1.0 / math.sqrt(d)
    mask = visible(tq, tk, causal, kv_len, b)
    scores = (q @ k.transpose(-1, -2) * s).masked_fill(~mask, float("-inf"))
    o = torch.softmax(scores, dim=-1) @ v
    lse = torch.logsumexp(scores, dim=-1)
    gy = torch.randn(o.shape, generator=gen, dtype=torch.float64)
    grads = torch.autograd.grad(o, (q, k, v), gy)
    inputs = [q, k, v] + ([kv_len] if padded else [])
    grad_inputs = list(grads) + ([None] if padded else [])
    return agold.case(name, inputs, [o, lse], f=[scale], i=[int(causal)], grad_outputs=[gy, None],
                      grad_inputs=grad_inputs, rtol=1e-4, atol=2e-5)


def generate(outdir):
    plain = [
        attention_case("t5_d8", 1, 2, 5, 5, 8, False, False),
        attention_case("t6_d4_causal", 2, 1, 6, 6, 4, True, False),
        attention_case("x3_7_d8_causal", 1, 2, 3, 7, 8, True, False),
        attention_case("x6_4_d4_scaled", 1, 1, 6, 4, 4, False, False, scale=0.7),
    ]
    padded = [
        attention_case("x4_6_d8", 2, 2, 4, 6, 8, False, True),
        attention_case("x5_9_d4_causal", 2, 1, 5, 9, 4, True, True),
    ]
    files = {"attention_attention.json": ("attention", plain),
             "attention_attention_padded.json": ("attention_padded", padded)}
    for fname, (op, cases) in files.items():
        agold.write(os.path.join(outdir, fname), op, cases)
    return list(files)
