#!/usr/bin/python3
"""PyTorch peer of the sampling rows of `aigc-bench pipelines`: one
generator's whole sampling call in PyTorch at the shapes aigc ran, timed the
same way, printed as one JSON line on stdout for the bench to read. The bench
runs it itself, once per row, with the row's model config and shapes:

    /usr/bin/python3 bench/torch_peer_generators.py ddim --batch 32 \\
        --ddim-steps 10 --guidance 3 --warmup 1 --steps 3
    /usr/bin/python3 bench/torch_peer_generators.py gan --batch 256 --warmup 1 --steps 3

ddim  the UNet of models/diffusion/unet.c (defaults: ag_unet_default_config):
      the sinusoidal timestep embedding of `base` channels (cos half first)
      through Linear, SiLU, Linear to 4 base, plus a class embedding of
      classes + 1 rows (the last the null class), then SiLU; conv_in 3x3; per
      level `blocks` residual blocks (GroupNorm, SiLU, conv 3x3, + a Linear
      shift of the embedding, GroupNorm, SiLU, conv 3x3, + the input or its
      1x1 conv), each followed by self-attention where attn[l] (pre-GroupNorm,
      q, k, v and out Linears with biases, heads of head_dim channels, added
      back), a stride-2 3x3 conv between levels; middle block, attention,
      block; per level deepest first blocks + 1 residual blocks over the
      concatenation [h, skip], nearest 2x upsampling and a 3x3 conv between
      levels; GroupNorm, SiLU, conv_out 3x3. Sampled as ag_ddpm_sample does
      with ag_sampler_config_named("ddim") (diffusers' DDIMScheduler
      defaults: leading spacing, steps_offset 0, set_alpha_to_one, eta 0,
      clip_sample to [-1, 1]) on the linear beta schedule predicting
      epsilon: initial noise N(0, 1); per step one UNet pass over the
      doubled batch [x; x] with labels [i % classes; null class] (guidance 0
      or 1: the conditional batch alone), eps = u + g (c - u), x0 clamped,
      x <- sqrt(ab_prev) x0 + sqrt(1 - ab_prev) eps; the images mapped to
      [0, 1] and copied to the host.
gan   the generator of models/gan/dcgan.c (defaults: ag_gan_default_config):
      z [N, zdim] ~ N(0, 1) (joined to a label embedding of embed_dim when
      --classes > 0) -> Linear without bias to 2g (H/4) (W/4) -> [N, 2g, H/4,
      W/4], BatchNorm2d (eval: running statistics), ReLU ->
      ConvTranspose2d(2g, g, 4, 2, 1, bias=False), BatchNorm2d, ReLU ->
      ConvTranspose2d(g, 1, 4, 2, 1, bias=False), tanh; the images mapped to
      [0, 1] and copied to the host, as ag_gan_sample returns them.
Weights are PyTorch's default initialisation: the time a call takes does not
depend on them. "params" counts the trainable parameters (not batchnorm's
running statistics), for the bench to check against aigc's model.

Timing: `--warmup` untimed calls, then the median of `--steps` calls, each
between perf_counter readings (a call ends copying its images to the host,
which waits for the device). f32 throughout, TF32 off on CUDA (aigc's f32
kernels use none). Eager everywhere; on CUDA the same calls again with the
model under torch.compile where this PyTorch has it (unless --no-compile),
reported as "compile". Memory: on the CPU the growth of this process's peak
RSS from just before the model is built (torch_peer_common.py's
measure), on CUDA torch.cuda.max_memory_allocated of each mode. Output:
{"available": true, "torch", "mode", "threads", "ms", "peak_mb", "params",
"compile": {the same keys} or {"available": false, "why"}}, or
{"available": false, "why"} when PyTorch cannot be imported, has no CUDA
device, or the config is one this peer does not implement.
"""
import math
import sys

from torch_peer_common import (argument_parser, blas_info, compiled, int_list, main, peak_mb,
                               prepare, time_calls)


def parse_args():
    ap = argument_parser(__doc__, "model", ["ddim", "gan"])
    ap.add_argument("--batch", type=int, default=256, help="images per call")
    ap.add_argument("--height", type=int, default=28)
    ap.add_argument("--width", type=int, default=28)
    d = ap.add_argument_group("ddim (defaults: ag_ddpm_default_config and _sample_opts)")
    d.add_argument("--ddim-steps", type=int, default=50)
    d.add_argument("--guidance", type=float, default=3.0)
    d.add_argument("--train-timesteps", type=int, default=1000)
    d.add_argument("--beta-schedule", default="linear")
    d.add_argument("--beta-start", type=float, default=1e-4)
    d.add_argument("--beta-end", type=float, default=0.02)
    d.add_argument("--prediction", default="epsilon")
    d.add_argument("--channels", type=int, default=1)
    d.add_argument("--base", type=int, default=32)
    d.add_argument("--mult", type=int_list, default=[1, 2, 2])
    d.add_argument("--attn", type=int_list, default=[0, 0, 1])
    d.add_argument("--blocks", type=int, default=1)
    d.add_argument("--head-dim", type=int, default=32)
    d.add_argument("--groups", type=int, default=8)
    d.add_argument("--unet-classes", type=int, default=10)
    g = ap.add_argument_group("gan (defaults: ag_gan_default_config)")
    g.add_argument("--zdim", type=int, default=64)
    g.add_argument("--g-channels", type=int, default=64)
    g.add_argument("--gan-classes", type=int, default=0)
    g.add_argument("--embed-dim", type=int, default=16)
    a = ap.parse_args()
    if min(a.batch, a.steps, a.threads, a.ddim_steps) < 1 or a.warmup < 0:
        ap.error("--batch, --steps, --threads and --ddim-steps must be >= 1, --warmup >= 0")
    if len(a.mult) != len(a.attn):
        ap.error("--mult and --attn need one value per level")
    return a


def unsupported(a):
    """Why this peer cannot run a's config the way aigc does; None when it can."""
    if a.model != "ddim":
        return None
    if a.beta_schedule != "linear" or a.prediction != "epsilon":
        return (f"the peer implements the linear beta schedule predicting epsilon, not "
                f"{a.beta_schedule} / {a.prediction}")
    if a.ddim_steps > a.train_timesteps:
        return f"{a.ddim_steps} DDIM steps over {a.train_timesteps} training timesteps"
    return None


def define_unet(torch, nn, F):
    """The UNet of models/diffusion/unet.c, defined once torch has imported."""

    def attention(q, k, v):
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v)
        s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        return torch.softmax(s, -1) @ v

    def timestep_embedding(t, dim, max_period=10000.0):
        half = dim // 2
        k = torch.arange(half, device=t.device, dtype=torch.float32)
        angles = t[:, None] * torch.exp(-math.log(max_period) * k / half)[None]
        e = torch.cat([torch.cos(angles), torch.sin(angles)], 1)
        return F.pad(e, (0, dim % 2))

    class ResBlock(nn.Module):
        def __init__(self, cin, cout, emb, groups):
            super().__init__()
            self.norm1, self.norm2 = nn.GroupNorm(groups, cin), nn.GroupNorm(groups, cout)
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
            self.emb = nn.Linear(emb, cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

        def forward(self, x, emb):
            h = self.conv1(F.silu(self.norm1(x))) + self.emb(emb)[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return h + (x if self.skip is None else self.skip(x))

    class AttnBlock(nn.Module):
        def __init__(self, ch, head_dim, groups):
            super().__init__()
            self.heads = ch // head_dim
            self.norm = nn.GroupNorm(groups, ch)
            self.q, self.k, self.v, self.out = (nn.Linear(ch, ch) for _ in range(4))

        def forward(self, x):
            b, c, hh, ww = x.shape
            h = self.norm(x).flatten(2).transpose(1, 2)

            def split(y):
                return y.view(b, hh * ww, self.heads, c // self.heads).transpose(1, 2)

            o = attention(split(self.q(h)), split(self.k(h)), split(self.v(h)))
            o = self.out(o.transpose(1, 2).reshape(b, hh * ww, c))
            return x + o.transpose(1, 2).reshape(b, c, hh, ww)

    class LevelBlock(nn.Module):
        """A residual block, then attention where the level has it."""

        def __init__(self, cin, cout, emb, a, attn):
            super().__init__()
            self.res = ResBlock(cin, cout, emb, a.groups)
            self.attn = AttnBlock(cout, a.head_dim, a.groups) if attn else None

        def forward(self, x, emb):
            x = self.res(x, emb)
            return x if self.attn is None else self.attn(x)

    class Upsample(nn.Module):
        def __init__(self, ch):
            super().__init__()
            self.conv = nn.Conv2d(ch, ch, 3, padding=1)

        def forward(self, x):
            return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))

    class UNet(nn.Module):
        def __init__(self, a):
            super().__init__()
            chans, emb = [a.base * m for m in a.mult], 4 * a.base
            self.base = a.base
            self.fc1, self.fc2 = nn.Linear(a.base, emb), nn.Linear(emb, emb)
            self.class_embed = nn.Embedding(a.unet_classes + 1, emb) if a.unet_classes else None
            self.conv_in = nn.Conv2d(a.channels, chans[0], 3, padding=1)
            ch, skips = chans[0], [chans[0]]
            self.down = nn.ModuleList()
            for l, c in enumerate(chans):
                for _ in range(a.blocks):
                    self.down.append(LevelBlock(ch, c, emb, a, a.attn[l]))
                    ch = c
                    skips.append(ch)
                if l < len(chans) - 1:
                    self.down.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                    skips.append(ch)
            self.mid0 = ResBlock(ch, ch, emb, a.groups)
            self.mid_attn = AttnBlock(ch, a.head_dim, a.groups)
            self.mid1 = ResBlock(ch, ch, emb, a.groups)
            self.up = nn.ModuleList()
            for l in reversed(range(len(chans))):
                for _ in range(a.blocks + 1):
                    self.up.append(LevelBlock(ch + skips.pop(), chans[l], emb, a, a.attn[l]))
                    ch = chans[l]
                if l > 0:
                    self.up.append(Upsample(ch))
            self.norm_out = nn.GroupNorm(a.groups, ch)
            self.conv_out = nn.Conv2d(ch, a.channels, 3, padding=1)

        def forward(self, x, t, labels):
            e = self.fc2(F.silu(self.fc1(timestep_embedding(t, self.base))))
            if self.class_embed is not None:
                e = e + self.class_embed(labels)
            e = F.silu(e)
            h = self.conv_in(x)
            skips = [h]
            for m in self.down:
                h = m(h) if isinstance(m, nn.Conv2d) else m(h, e)
                skips.append(h)
            h = self.mid1(self.mid_attn(self.mid0(h, e)), e)
            for m in self.up:
                h = m(h) if isinstance(m, Upsample) else m(torch.cat([h, skips.pop()], 1), e)
            return self.conv_out(F.silu(self.norm_out(h)))

    return UNet


def define_generator(torch, nn):
    """The generator of models/gan/dcgan.c."""

    class Generator(nn.Module):
        def __init__(self, a):
            super().__init__()
            g, self.h4, self.w4 = a.g_channels, a.height // 4, a.width // 4
            self.embed = nn.Embedding(a.gan_classes, a.embed_dim) if a.gan_classes else None
            cin = a.zdim + (a.embed_dim if a.gan_classes else 0)
            self.fc = nn.Linear(cin, 2 * g * self.h4 * self.w4, bias=False)
            self.bn0 = nn.BatchNorm2d(2 * g)
            self.up1 = nn.ConvTranspose2d(2 * g, g, 4, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(g)
            self.up2 = nn.ConvTranspose2d(g, 1, 4, 2, 1, bias=False)

        def forward(self, z, labels):
            if self.embed is not None:
                z = torch.cat([z, self.embed(labels)], 1)
            h = self.fc(z).view(z.shape[0], -1, self.h4, self.w4)
            h = torch.relu(self.bn0(h))
            h = torch.relu(self.bn1(self.up1(h)))
            return torch.tanh(self.up2(h))

    return Generator


def ddim_schedule(a):
    """(timestep, alpha_cumprod, previous alpha_cumprod) of every step, as
    ag_sampler_new makes them for ddim: leading spacing, the previous
    timestep t - T / steps, alpha_cumprod 1 before 0."""
    ratio, acp, prod = a.train_timesteps // a.ddim_steps, [], 1.0
    for t in range(a.train_timesteps):
        beta = a.beta_start + t * (a.beta_end - a.beta_start) / max(a.train_timesteps - 1, 1)
        prod *= 1 - beta
        acp.append(prod)
    steps = []
    for k in range(a.ddim_steps):
        t = (a.ddim_steps - 1 - k) * ratio
        steps.append((t, acp[t], acp[t - ratio] if t - ratio >= 0 else 1.0))
    return steps


def ddim_sampler(torch, a, dev):
    """The model and one sampling call of a.batch images, as ag_ddpm_sample."""
    model = define_unet(torch, torch.nn, torch.nn.functional)(a).to(dev).eval()
    guided = a.unet_classes > 0 and a.guidance not in (0.0, 1.0)
    labels = torch.arange(a.batch, device=dev) % max(a.unet_classes, 1)
    if guided:
        labels = torch.cat([labels, torch.full_like(labels, a.unet_classes)])
    rows, schedule = labels.shape[0], ddim_schedule(a)

    def call(net):
        x = torch.randn(a.batch, a.channels, a.height, a.width, device=dev)
        for t, ab, abp in schedule:
            ts = torch.full((rows,), float(t), device=dev)
            out = net(torch.cat([x, x]) if guided else x, ts, labels)
            if guided:
                c, u = out.chunk(2)
                out = u + a.guidance * (c - u)
            x0 = ((x - math.sqrt(1 - ab) * out) / math.sqrt(ab)).clamp_(-1, 1)
            x = math.sqrt(abp) * x0 + math.sqrt(1 - abp) * out
        return ((x + 1) * 0.5).clamp_(0, 1).cpu()

    return model, call


def gan_sampler(torch, a, dev):
    """The generator and one sampling call of a.batch images, as ag_gan_sample."""
    model = define_generator(torch, torch.nn)(a).to(dev).eval()
    labels = torch.arange(a.batch, device=dev) % a.gan_classes if a.gan_classes else None

    def call(net):
        z = torch.randn(a.batch, a.zdim, device=dev)
        return ((net(z, labels) + 1) * 0.5).clamp_(0, 1).cpu()

    return model, call


def sample_calls(torch, a, call, net):
    """time_calls without autograd: sampling builds no graph."""
    with torch.no_grad():
        return time_calls(torch, a, call, net)


def run(torch, a):
    exact, rss0 = prepare(torch, a)
    dev = torch.device(a.device)
    model, call = (ddim_sampler if a.model == "ddim" else gan_sampler)(torch, a, dev)
    ms = sample_calls(torch, a, call, model)
    mode = "eager" + (f", BLAS {blas_info(torch)}" if a.device == "cpu" else "")
    result = {"available": True, "torch": torch.__version__, "mode": mode,
              "threads": torch.get_num_threads(), "ms": ms, "peak_mb": peak_mb(torch, a, rss0),
              "peak_exact": exact, "params": sum(p.numel() for p in model.parameters())}
    result["compile"] = compiled(torch, a, model, call, result, sample_calls)
    return result


if __name__ == "__main__":
    sys.exit(main(parse_args, run, unsupported))
