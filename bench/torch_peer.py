#!/usr/bin/python3
"""PyTorch peer for `aigc-bench kernels`: reruns each row of an aigc JSON
report (same op, shapes, dtype, parameters) through PyTorch on the same kind
of device, and prints time ratios. Uses Debian's python3-torch on the CPU and
the GPU machine's PyTorch on CUDA:

    build/bench/aigc-bench kernels --json aigc.json
    /usr/bin/python3 bench/torch_peer.py aigc.json [--device cuda]

A ratio above 1 means aigc is faster. Rows whose op has no PyTorch mapping
here are listed as skipped, never guessed.
"""
import argparse
import json
import re
import statistics
import time

import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16, "i32": torch.int32}


def parse_inputs(text, device):
    tensors = []
    for dt, dims in re.findall(r"(\w+)\[([\d,]*)\]", text):
        shape = [int(d) for d in dims.split(",") if d]
        if DTYPES[dt].is_floating_point:
            tensors.append(torch.randn(shape, dtype=DTYPES[dt], device=device))
        else:
            tensors.append(torch.zeros(shape, dtype=DTYPES[dt], device=device))
    return tensors


def gelu(x):
    return F.gelu(x, approximate="tanh")


# PyTorch 2.x has the fused scaled_dot_product_attention (flash, memory-
# efficient or cuDNN kernels on CUDA); Debian's 1.13 has not, so there the
# peer is the math attention composed of matmul, softmax and matmul, and the
# report says which ran.
HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")


def attention_name():
    return "torch.sdpa" if HAVE_SDPA else "torch.math"


def causal_keep(tq, tk, device):
    """aigc's causal mask: aligned to the bottom-right corner, so query i sees
    keys j <= i + tk - tq (SDPA's is_causal is aligned top-left)."""
    return torch.ones(tq, tk, dtype=torch.bool, device=device).tril(tk - tq)


def attention(x, f, i):
    q, k, v = x
    scale = f[0] if f[0] else q.shape[-1] ** -0.5
    tq, tk = q.shape[-2], k.shape[-2]
    if HAVE_SDPA:
        # scale= is PyTorch 2.1's; the default is the same 1/sqrt(D).
        kw = {"scale": f[0]} if f[0] else {}
        if i[0] and tq != tk:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=causal_keep(tq, tk, q.device),
                                                  **kw)
        return F.scaled_dot_product_attention(q, k, v, is_causal=bool(i[0]), **kw)
    s = (q @ k.transpose(-1, -2)) * scale
    if i[0]:
        s = s.masked_fill(~causal_keep(tq, tk, s.device), float("-inf"))
    return torch.softmax(s, -1) @ v


def matmul(x, f, i):
    a, b = x[0], x[1]
    a = a.transpose(-1, -2) if i[0] else a
    b = b.transpose(-1, -2) if i[1] else b
    y = a @ b
    if len(x) > 2:
        y = y + x[2]
    return [y, torch.relu(y), gelu(y)][int(i[2])]


def adamw(x, f, i):
    p, g, m, v = x
    torch._foreach_mul_([m], f[1])
    m.add_(g, alpha=1 - f[1])
    v.mul_(f[2]).addcmul_(g, g, value=1 - f[2])
    return p.addcdiv_(m, v.sqrt().add_(f[3]), value=-f[0])


# op name -> (forward callable taking (inputs, f, i), differentiable input indices)
FORWARD = {
    "add": (lambda x, f, i: x[0] + x[1], [0, 1]),
    "mul": (lambda x, f, i: x[0] * x[1], [0, 1]),
    "gelu": (lambda x, f, i: gelu(x[0]), [0]),
    "silu": (lambda x, f, i: F.silu(x[0]), [0]),
    "sum": (lambda x, f, i: x[0].sum(int(i[0]), keepdim=bool(i[1])), [0]),
    "layernorm": (lambda x, f, i: F.layer_norm(x[0], x[0].shape[-1:], x[1], x[2], f[0]), [0, 1, 2]),
    "rmsnorm": (lambda x, f, i: x[0] * torch.rsqrt(x[0].float().pow(2).mean(-1, keepdim=True)
                                                   + f[0]).to(x[0].dtype) * x[1], [0, 1]),
    "groupnorm": (lambda x, f, i: F.group_norm(x[0], int(i[0]), x[1], x[2], f[0]), [0, 1, 2]),
    "softmax": (lambda x, f, i: torch.softmax(x[0], -1), [0]),
    "cross_entropy": (lambda x, f, i: F.cross_entropy(x[0], x[1].long(), reduction="none"), [0]),
    "embedding": (lambda x, f, i: F.embedding(x[1].long(), x[0]), [0]),
    "adamw": (adamw, []),
    "matmul": (matmul, [0, 1]),
    "matmul_bias": (matmul, [0, 1, 2]),
    "attention": (attention, [0, 1, 2]),
    "conv2d": (lambda x, f, i: F.conv2d(x[0], x[1], stride=int(i[0]) or 1,
                                        padding=(int(i[2]), int(i[3]))), [0, 1]),
}


def timed(fn, device, reps):
    fn()
    times = []
    for _ in range(reps):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def peer_ms(row, device, reps):
    entry = FORWARD.get(row["kernel"])
    if entry is None:
        return None
    fwd, grad_inputs = entry
    xs = parse_inputs(row["shape"], device)
    if not row["backward"]:
        with torch.no_grad():
            return timed(lambda: fwd(xs, row["f"], row["i"]), device, reps)
    for k in grad_inputs:
        xs[k].requires_grad_(True)
    y = fwd(xs, row["f"], row["i"])
    gy = torch.randn_like(y)
    return timed(lambda: torch.autograd.grad(y, [xs[k] for k in grad_inputs], gy,
                                             retain_graph=True), device, reps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    with open(args.report) as fh:
        report = json.load(fh)
    if args.device == "cpu":
        torch.set_num_threads(torch.get_num_threads())
    print(f"aigc on {report['device']}, PyTorch {torch.__version__} on {args.device}")
    print(f"{'op':30} {'dtype':5} {'peer':10} {'aigc ms':>9} {'torch ms':>9} {'torch/aigc':>10}")
    for row in report["results"]:
        ms = peer_ms(row, args.device, args.reps)
        peer = attention_name() if row["kernel"] == "attention" else "torch"
        if ms is None:
            print(f"{row['op']:30} {row['dtype']:5} {'-':10} {row['ms']:9.3f} {'-':>9} "
                  f"{'skipped (no mapping)':>10}")
            continue
        print(f"{row['op']:30} {row['dtype']:5} {peer:10} {row['ms']:9.3f} {ms:9.3f} "
              f"{ms / row['ms']:9.2f}x")


if __name__ == "__main__":
    main()
