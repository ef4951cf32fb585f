#!/usr/bin/python3
"""PyTorch peer of the NeRF rows of `aigc-bench pipelines`: the hash-grid
encoding and a NeRF training step in pure PyTorch at the shapes aigc ran,
timed the same way, printed as one JSON line on stdout for the bench to read.
The bench runs it itself, once per row, with the row's config and shapes:

    /usr/bin/python3 bench/torch_peer_nerf.py hashgrid --points 65536 \\
        --levels 16 --features 2 --log2-table 16 --res 16,22,...,3071
    /usr/bin/python3 bench/torch_peer_nerf.py train --samples 14000 --rays 800 \\
        --levels 16 --features 2 --log2-table 16 --res 16,22,...,3071 --bound 1.5 --dt 0.0101

hashgrid  the multiresolution hash grid of kernels/common/ag_k_encoding.h:
          per level of res cells a side, p = clamp(x, 0, 1) (res - 1) + 1/2,
          the cell floor(p) and the trilinear blend of its 8 corners, each
          corner's row x + (res+1) (y + (res+1) z) where (res+1)^3 fits the
          table of 2^log2_table rows, else Instant-NGP's spatial hash
          (x * 1 ^ y * 2654435761 ^ z * 805459861) mod 2^log2_table; blended
          in f32, returned in the table's dtype (--dtype). One call encodes
          --points uniformly random points of [0, 1]^3, all levels at once
          (one gather of every corner). "params" is the table's entries.
train     a step of the NeRF of models/nerf/ag_nerf.h on --samples samples
          packed into --rays rays (consecutive, as even as they divide): the
          grid of the points x / bound / 2 + 1/2, the density MLP (hidden
          wide, ReLU, geo_features out, no biases), sigma = trunc_exp of its
          first output, the colour MLP (the geometry features and the
          degree-4 spherical harmonics of the direction, tcnn's; two hidden
          layers with ReLU, 3 outputs, sigmoid; no biases), front-to-back
          compositing of each ray (weights T (1 - exp(-sigma dt)), T the
          exclusive product of the ray's exp(-sigma dt)) over a random
          background, the mean squared error to random targets, backward,
          and Adam (betas 0.9, 0.99, eps 1e-15, as ag_nerf_train). aigc's
          step also marches its rays through the occupancy grid, draws them
          on the host and updates the grid every 16th step; this one takes
          its samples as given, so it does less work than aigc's (its mode
          says so). "params" is every trainable entry, for the bench to check
          against aigc's model.
Data is written once; a step's values do not change its work.

Timing: `--warmup` untimed calls, then the median of `--steps` calls, each
between perf_counter readings after the device has finished (a training step
reads its loss back, as aigc's does). f32 throughout (the hash grid's table
in --dtype), TF32 off on CUDA. Eager everywhere; on CUDA the same calls
again with the encoding or the model under torch.compile where this PyTorch
has it (unless --no-compile), reported as "compile". Memory as
torch_peer_common.py. Output: {"available": true, "torch", "mode",
"threads", "ms", "peak_mb", "params", "compile": {...}}, or {"available":
false, "why"} when PyTorch cannot be imported or has no CUDA device.
"""
import sys

from torch_peer_common import (argument_parser, blas_info, compiled, int_list, main, peak_mb,
                               prepare, time_calls)

PRIMES = (1, 2654435761, 805459861)


def parse_args():
    ap = argument_parser(__doc__, "row", ["hashgrid", "train"])
    g = ap.add_argument_group("the grid (defaults: ag_nerf_default_config(1.5, 0))")
    g.add_argument("--levels", type=int, default=16)
    g.add_argument("--features", type=int, default=2)
    g.add_argument("--log2-table", type=int, default=16)
    g.add_argument("--res", type=int_list, required=True, help="every level's resolution")
    g.add_argument("--dtype", default="f32", choices=["f32", "f16"], help="hashgrid: the table's")
    g.add_argument("--points", type=int, default=1 << 16, help="hashgrid: points a call")
    t = ap.add_argument_group("train (defaults: ag_nerf_default_config, _train_opts)")
    t.add_argument("--samples", type=int, default=1 << 14)
    t.add_argument("--rays", type=int, default=1024)
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--geo-features", type=int, default=16)
    t.add_argument("--bound", type=float, default=1.5)
    t.add_argument("--dt", type=float, help="train: the march's step length (required)")
    t.add_argument("--lr", type=float, default=1e-2)
    a = ap.parse_args()
    if min(a.steps, a.threads, a.points, a.samples, a.rays, a.levels, a.features) < 1:
        ap.error("--steps, --threads, --points, --samples, --rays, --levels and --features "
                 "must be >= 1")
    if a.warmup < 0 or a.rays > a.samples:
        ap.error("--warmup must be >= 0 and --rays at most --samples")
    if a.row == "train" and not (a.dt and a.dt > 0):
        ap.error("train needs --dt, the step length, > 0")
    if len(a.res) != a.levels:
        ap.error(f"--res has {len(a.res)} resolutions for {a.levels} levels")
    return a


class HashGrid:
    """The encoding's constants for one config; calling it encodes."""

    def __init__(self, torch, a, dev):
        self.torch, self.levels, self.features = torch, a.levels, a.features
        self.rows = 1 << a.log2_table
        res = torch.tensor(a.res, dtype=torch.int64, device=dev)
        self.scale = (res - 1).to(torch.float32)[None, :, None]  # [1, L, 1]
        side = (res + 1)[None, :, None]
        self.side = side
        self.dense = (side ** 3 <= self.rows)  # [1, L, 1]
        self.base = (torch.arange(a.levels, device=dev) * self.rows)[None, :, None]
        k = torch.arange(8, device=dev)
        self.corner = torch.stack([k & 1, (k >> 1) & 1, k >> 2], 1)  # [8, 3]
        self.upper = self.corner.bool()

    def __call__(self, pos, table):
        torch = self.torch
        p = pos.clamp(0, 1)[:, None, :] * self.scale + 0.5  # [N, L, 3]
        cell = p.floor()
        frac = (p - cell)[:, :, None, :]  # [N, L, 1, 3]
        c = cell.long()[:, :, None, :] + self.corner  # [N, L, 8, 3]
        x, y, z = c.unbind(-1)
        dense = x + self.side * (y + self.side * z)
        hashed = (x * PRIMES[0] ^ y * PRIMES[1] ^ z * PRIMES[2]) & (self.rows - 1)
        row = torch.where(self.dense, dense, hashed) + self.base  # [N, L, 8]
        w = torch.where(self.upper, frac, 1 - frac).prod(-1)  # [N, L, 8]
        v = table.reshape(self.levels * self.rows, self.features)[row]  # [N, L, 8, F]
        y = (w[..., None] * v.float()).sum(2)
        return y.to(table.dtype).reshape(pos.shape[0], self.levels * self.features)


def sh_encode(torch, d):
    """The degree-4 real spherical harmonics of ag_sh_encode_eval."""
    x, y, z = d.unbind(-1)
    xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
    return torch.stack([
        torch.full_like(x, 0.28209479177387814), -0.48860251190291987 * y,
        0.48860251190291987 * z, -0.48860251190291987 * x, 1.0925484305920792 * xy,
        -1.0925484305920792 * yz, 0.94617469575755997 * zz - 0.31539156525251999,
        -1.0925484305920792 * xz, 0.54627421529603959 * (xx - yy),
        0.59004358992664352 * y * (yy - 3 * xx), 2.8906114426405538 * xy * z,
        0.45704579946446572 * y * (1 - 5 * zz), 0.3731763325901154 * z * (5 * zz - 3),
        0.45704579946446572 * x * (1 - 5 * zz), 1.4453057213202769 * z * (xx - yy),
        0.59004358992664352 * x * (3 * yy - xx)], -1)


def define_field(torch, nn):
    """The NeRF field of models/nerf/nerf_field.c, defined once torch has imported."""

    class TruncExp(torch.autograd.Function):
        """exp, its gradient from the exponent clamped to [-15, 15] (Instant-NGP's)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.exp(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * torch.exp(x.clamp(-15, 15))

    class Field(nn.Module):
        def __init__(self, a, dev):
            super().__init__()
            self.grid, self.bound = HashGrid(torch, a, dev), a.bound
            shape = (a.levels, 1 << a.log2_table, a.features)
            self.table = nn.Parameter(torch.empty(shape, device=dev).uniform_(-1e-4, 1e-4))
            w = a.hidden
            self.density = nn.Sequential(nn.Linear(a.levels * a.features, w, bias=False),
                                         nn.ReLU(), nn.Linear(w, a.geo_features, bias=False))
            self.color = nn.Sequential(nn.Linear(a.geo_features + 16, w, bias=False), nn.ReLU(),
                                       nn.Linear(w, w, bias=False), nn.ReLU(),
                                       nn.Linear(w, 3, bias=False))

        def forward(self, pos, dirs):
            geo = self.density(self.grid(pos * (0.5 / self.bound) + 0.5, self.table))
            sigma = TruncExp.apply(geo[:, 0])
            rgb = torch.sigmoid(self.color(torch.cat([geo, sh_encode(torch, dirs)], 1)))
            return sigma, rgb

    return Field


def composite(torch, sigma, rgb, dt, ray, start, bg):
    """Each ray's colour over bg: sum of T_i (1 - exp(-sigma_i dt)) rgb_i, T_i
    the exclusive product of exp(-sigma_j dt) along the ray."""
    tau = sigma * dt
    before = tau.cumsum(0) - tau  # the exclusive sum over every earlier sample
    trans = torch.exp(-(before - before[start][ray]))
    w = trans * (1 - torch.exp(-tau))
    rays = bg.shape[0]
    color = torch.zeros_like(bg).index_add(0, ray, w[:, None] * rgb)
    opacity = torch.zeros(rays, device=bg.device).index_add(0, ray, w)
    return color + (1 - opacity)[:, None] * bg


def hashgrid_row(torch, a, dev):
    """The table, the points and one encoding call."""
    grid = HashGrid(torch, a, dev)
    dt = torch.float16 if a.dtype == "f16" else torch.float32
    table = torch.empty(a.levels, 1 << a.log2_table, a.features, device=dev).uniform_(-1e-4, 1e-4)
    table = table.to(dt)
    pos = torch.rand(a.points, 3, device=dev)

    def call(fn):
        with torch.no_grad():
            return fn(pos, table)

    return grid, call, table.numel(), "eager"


def train_row(torch, a, dev):
    """The field and one training step on fixed samples."""
    model = define_field(torch, torch.nn)(a, dev)
    s, r = a.samples, a.rays
    ray = torch.arange(s, device=dev) * r // s  # sample -> its ray, rays consecutive
    start = (torch.arange(r, device=dev) * s + r - 1) // r  # each ray's first sample
    pos = (torch.rand(s, 3, device=dev) * 2 - 1) * a.bound
    dirs = torch.nn.functional.normalize(torch.randn(s, 3, device=dev), dim=1)
    bg, target = torch.rand(r, 3, device=dev), torch.rand(r, 3, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.99), eps=1e-15)

    def call(net):
        opt.zero_grad(set_to_none=True)
        sigma, rgb = net(pos, dirs)
        loss = torch.mean((composite(torch, sigma, rgb, a.dt, ray, start, bg) - target) ** 2)
        loss.backward()
        opt.step()
        return loss.item()

    params = sum(p.numel() for p in model.parameters())
    return model, call, params, "eager, Adam, field+composite only (no march)"


def run(torch, a):
    exact, rss0 = prepare(torch, a)
    dev = torch.device(a.device)
    fn, call, params, mode = (hashgrid_row if a.row == "hashgrid" else train_row)(torch, a, dev)
    ms = time_calls(torch, a, call, fn)
    if a.device == "cpu":
        mode = mode.replace("eager", f"eager, BLAS {blas_info(torch)}", 1)
    result = {"available": True, "torch": torch.__version__, "mode": mode,
              "threads": torch.get_num_threads(), "ms": ms, "peak_mb": peak_mb(torch, a, rss0),
              "peak_exact": exact, "params": params}
    result["compile"] = compiled(torch, a, fn, call, result)
    return result


if __name__ == "__main__":
    sys.exit(main(parse_args, run))
