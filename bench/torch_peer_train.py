#!/usr/bin/python3
"""PyTorch peer for `aigc-bench graph`: the same two training steps (forward
+ backward, no optimizer) in PyTorch on the same kind of device, timed the
same way (median of --reps steps after two warm-up steps), with the ratio
against aigc's step time from its JSON report:

    build/bench/aigc-bench graph --json graph.json
    /usr/bin/python3 bench/torch_peer_train.py graph.json [--device cuda]

classifier   LeNet-style, as models/classifier.c builds it: conv3x3 1->32
             pad 1 + ReLU, avgpool 2, conv3x3 32->64 pad 1 + ReLU, avgpool 2,
             linear 3136->128 + ReLU, linear 128->10, cross-entropy.
transformer  pre-LN blocks (separate q, k, v, out linears, causal attention,
             GELU-tanh MLP of 4C), a linear head, cross-entropy, at the shape
             aigc used (read from its JSON).

A ratio above 1 means aigc is faster. On CUDA the ratio is given against
both of aigc's plans: plain launches and CUDA-graph replay. On the CPU
PyTorch uses os.cpu_count() threads, as aigc's OpenMP does by default.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        h = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        h = F.avg_pool2d(F.relu(self.conv2(h)), 2)
        return self.fc2(F.relu(self.fc1(h.flatten(1))))


def causal_attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    t = q.shape[-2]
    s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    keep = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    return torch.softmax(s.masked_fill(~keep, float("-inf")), -1) @ v


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.q, self.k, self.v, self.out = (nn.Linear(c, c) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def split(self, x):
        b, t, c = x.shape
        return x.view(b, t, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x):
        b, t, c = x.shape
        h = self.ln1(x)
        o = causal_attention(self.split(self.q(h)), self.split(self.k(h)), self.split(self.v(h)))
        x = x + self.out(o.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Transformer(nn.Module):
    def __init__(self, c, heads, layers, classes):
        super().__init__()
        self.blocks = nn.Sequential(*(Block(c, heads) for _ in range(layers)))
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        return self.head(self.blocks(x).flatten(0, 1))


def time_step(model, x, labels, device, reps):
    def step():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), labels).backward()

    for _ in range(2):
        step()
    times = []
    for _ in range(reps):
        if device == "cuda":
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            step()
            e1.record()
            e1.synchronize()
            times.append(e0.elapsed_time(e1))
        else:
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run_graph(g, device, reps):
    """Builds graph `g` (an entry of aigc's JSON) and times its step."""
    torch.manual_seed(0)
    if g["name"] == "classifier":
        model = Classifier()
        x = torch.randn(int(g["batch"]), 1, 28, 28)
        labels = torch.randint(0, int(g["classes"]), (int(g["batch"]),))
    elif g["name"] == "transformer":
        b, t, c = int(g["batch"]), int(g["seq"]), int(g["channels"])
        model = Transformer(c, int(g["heads"]), int(g["layers"]), int(g["classes"]))
        x = torch.randn(b, t, c)
        labels = torch.randint(0, int(g["classes"]), (b * t,))
    else:
        return None
    model = model.to(device)
    return time_step(model, x.to(device), labels.to(device), device, reps)


def ratio(ours, theirs):
    return f"{theirs / ours:.2f}x" if ours > 0 else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("aigc_json", help="the JSON written by `aigc-bench graph --json`")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    with open(args.aigc_json) as f:
        report = json.load(f)
    if report.get("command") != "graph":
        raise SystemExit(f"{args.aigc_json}: not an `aigc-bench graph` report")
    threads = os.cpu_count()
    if args.device == "cpu":
        torch.set_num_threads(threads)
    sdpa = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "math attention"
    print(f"torch {torch.__version__} on {args.device} ({threads} threads, {sdpa}); "
          f"aigc on {report['device']}")
    print(f"{'graph':<12} {'shape':<32} {'aigc ms':>9} {'torch ms':>9} {'torch items/s':>14} "
          f"{'ratio':>7} {'vs replay':>10}")
    for g in report["graphs"]:
        ms = run_graph(g, args.device, args.reps)
        if ms is None:
            print(f"{g['name']:<12} skipped: no PyTorch version of this graph here")
            continue
        rate = f"{g['items'] / (ms * 1e-3):.0f} {g['item']}"
        replay = ratio(g["replay_ms"], ms) if g.get("replay_ms", 0) > 0 else "-"
        print(f"{g['name']:<12} {g['shape']:<32} {g['ms']:9.3f} {ms:9.3f} {rate:>14} "
              f"{ratio(g['ms'], ms):>7} {replay:>10}")
    print("ratio = torch ms / aigc ms (>1: aigc faster); vs replay uses aigc's CUDA-graph replay")


if __name__ == "__main__":
    main()
