#!/usr/bin/python3
"""PyTorch peer of the GAN row of `aigc-bench pipelines`: the generator of
models/gan/dcgan.c sampled in batches, timed the same way as aigc's
ag_gan_sample, printed as one JSON line on stdout:

    /usr/bin/python3 bench/torch_peer_gan.py --batch 256 --warmup 2 --steps 10

The generator (ag_gan_default_config): z [N, zdim] ~ N(0, 1) (joined to a
label embedding of embed_dim when --classes > 0) -> Linear without bias to
2g * (H/4) * (W/4) -> [N, 2g, H/4, W/4], BatchNorm2d (eval: running
statistics), ReLU -> ConvTranspose2d(2g, g, 4, 2, 1, bias=False),
BatchNorm2d, ReLU -> ConvTranspose2d(g, 1, 4, 2, 1, bias=False), tanh; the
images mapped to [0, 1] and copied to the host, as aigc returns them. The
latents are drawn on the device each batch (aigc fills them from Philox).

Timing: `--warmup` untimed batches, then the median of `--steps` batches,
each between perf_counter readings (after torch.cuda.synchronize on CUDA).
f32, TF32 off on CUDA. On CUDA the generator runs under torch.compile when
this PyTorch has it, unless --no-compile. Output: {"available": true,
"torch", "mode", "threads", "batch", "ms", "images_per_s"}, or {"available":
false, "why"} when PyTorch cannot be imported or has no CUDA device.
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true", help="eager even where compile exists")
    m = ap.add_argument_group("model (defaults: ag_gan_default_config)")
    m.add_argument("--image", type=int, default=28, help="side of the 1-channel images")
    m.add_argument("--zdim", type=int, default=64)
    m.add_argument("--g-channels", type=int, default=64)
    m.add_argument("--classes", type=int, default=0)
    m.add_argument("--embed-dim", type=int, default=16)
    return ap.parse_args()


def build(torch, a):
    nn = torch.nn
    g, side = a.g_channels, a.image // 4

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(a.classes, a.embed_dim) if a.classes else None
            cin = a.zdim + (a.embed_dim if a.classes else 0)
            self.fc = nn.Linear(cin, 2 * g * side * side, bias=False)
            self.bn0 = nn.BatchNorm2d(2 * g)
            self.up1 = nn.ConvTranspose2d(2 * g, g, 4, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(g)
            self.up2 = nn.ConvTranspose2d(g, 1, 4, 2, 1, bias=False)

        def forward(self, z, labels):
            if self.embed is not None:
                z = torch.cat([z, self.embed(labels)], 1)
            h = self.fc(z).view(z.shape[0], 2 * g, side, side)
            h = torch.relu(self.bn0(h))
            h = torch.relu(self.bn1(self.up1(h)))
            return torch.tanh(self.up2(h))

    return Generator()


def main():
    a = parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"available": False, "why": f"cannot import torch: {e}"}))
        return 0
    if a.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"available": False, "why": "torch has no CUDA device"}))
        return 0
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(a.device)
    gen = build(torch, a).to(dev).eval()
    mode = "eager"
    if a.device == "cuda" and not a.no_compile and hasattr(torch, "compile"):
        gen = torch.compile(gen)
        mode = "torch.compile"
    labels = torch.arange(a.batch, device=dev) % a.classes if a.classes else None

    def batch():
        with torch.no_grad():
            z = torch.randn(a.batch, a.zdim, device=dev)
            images = ((gen(z, labels) + 1) * 0.5).clamp_(0, 1).cpu()
        return images

    for _ in range(a.warmup):
        batch()
    times = []
    for _ in range(a.steps):
        if a.device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        batch()
        if a.device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    ms = 1e3 * statistics.median(times)
    print(json.dumps({"available": True, "torch": torch.__version__, "mode": mode,
                      "threads": torch.get_num_threads(), "batch": a.batch, "ms": ms,
                      "images_per_s": a.batch / (ms / 1e3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
