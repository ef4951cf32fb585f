#!/usr/bin/python3
"""PyTorch peer of `aigc-bench pipelines`: one model's full training step
(forward, backward, AdamW) in PyTorch at the shapes aigc ran, timed the same
way, printed as one JSON line on stdout for the bench to read. The bench runs
it itself, once per row, with the row's shapes:

    /usr/bin/python3 bench/torch_peer_pipelines.py gpt --batch 1 --seq 256 \\
        --layers 6 --width 384 --heads 6 --vocab 50257 --warmup 1 --steps 3
    /usr/bin/python3 bench/torch_peer_pipelines.py clip --batch 256 --warmup 1 --steps 3

gpt   GPT-2's layout as models/transformer/gpt.c builds it: token and
      position embeddings, pre-LN blocks (separate q, k, v, out linears with
      biases, causal attention, GELU-tanh MLP of 4C), final layernorm, an
      untied head with bias, cross-entropy over every position.
clip  models/transformer/clip.c: a ViT image tower (patch convolution, class
      token, learned positions, bidirectional pre-LN blocks, ln_post on the
      class token, projection without bias) and a causal text tower pooled at
      the end-of-text token (ln_final, projection without bias), both
      L2-normalised, exp(logit_scale) logits and the symmetric InfoNCE loss;
      the logit scale is clamped to [0, ln 100] after every update.
Both: AdamW with the settings the bench passes (each model's training
defaults: lr, weight decay, beta2; beta1 0.9 and eps 1e-8 as torch's), weight
decay on matrices only, as aigc's optimizer (parameters of one dimension take
none); --clip-norm > 0 (gpt) clips the global gradient norm first. Data is
random and the same every step.

Timing: `--warmup` untimed steps, then the median of `--steps` steps, each
between perf_counter readings (after torch.cuda.synchronize on CUDA). f32
throughout on both sides (TF32 off on CUDA, as aigc's f32 kernels use none).
On CUDA the model runs under torch.compile when this PyTorch has it, and
AdamW is fused where it can be. Memory: on the CPU the growth of this
process's peak RSS from just before the model is built to the end (the
kernel's high-water mark, reset through /proc/self/clear_refs), on CUDA
torch.cuda.max_memory_allocated. Output: {"available": true, "torch", "mode"
(eager or torch.compile, on the CPU the BLAS torch was built with, the
optimizer), "threads", "ms", "peak_mb", "peak_exact"}, or {"available":
false, "why"} when PyTorch cannot be imported or has no CUDA device (the
bench then prints "torch: not available" and why).
"""
import math
import sys

from torch_peer_common import argument_parser, blas_info, main, peak_mb, prepare, time_calls

LOGIT_SCALE_INIT = math.log(1 / 0.07)
LOGIT_SCALE_MAX = math.log(100.0)


def parse_args():
    ap = argument_parser(__doc__, "model", ["gpt", "clip"])
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--clip-norm", type=float, default=0.0, help="> 0: clip the gradient norm")
    ap.add_argument("--bf16", action="store_true",
                    help="bf16 autocast over f32 weights, as aigc's bf16 compute dtype")
    g = ap.add_argument_group("gpt")
    g.add_argument("--seq", type=int, default=256)
    g.add_argument("--layers", type=int, default=6)
    g.add_argument("--width", type=int, default=384)
    g.add_argument("--heads", type=int, default=6)
    g.add_argument("--vocab", type=int, default=50257)
    c = ap.add_argument_group("clip (defaults: ag_clip_default_config)")
    c.add_argument("--image", type=int, default=28, help="side of the 1-channel images")
    c.add_argument("--patch", type=int, default=4)
    c.add_argument("--vision-dim", type=int, default=64)
    c.add_argument("--vision-layers", type=int, default=3)
    c.add_argument("--vision-heads", type=int, default=4)
    c.add_argument("--text-vocab", type=int, default=259)
    c.add_argument("--context", type=int, default=64)
    c.add_argument("--text-dim", type=int, default=64)
    c.add_argument("--text-layers", type=int, default=3)
    c.add_argument("--text-heads", type=int, default=4)
    c.add_argument("--embed-dim", type=int, default=64)
    args = ap.parse_args()
    if min(args.batch, args.steps, args.threads) < 1 or args.warmup < 0:
        ap.error("--batch, --steps and --threads must be >= 1, --warmup >= 0")
    return args


def define_models(torch, nn, F):
    """The modules, defined once torch has imported."""

    def attention(q, k, v, causal):
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        if causal:
            t = q.shape[-2]
            keep = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
            s = s.masked_fill(~keep, float("-inf"))
        return torch.softmax(s, -1) @ v

    class Block(nn.Module):
        def __init__(self, c, heads, causal):
            super().__init__()
            self.heads, self.causal = heads, causal
            self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.q, self.k, self.v, self.out = (nn.Linear(c, c) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

        def split(self, x):
            b, t, c = x.shape
            return x.view(b, t, self.heads, c // self.heads).transpose(1, 2)

        def forward(self, x):
            b, t, c = x.shape
            h = self.ln1(x)
            o = attention(self.split(self.q(h)), self.split(self.k(h)), self.split(self.v(h)),
                          self.causal)
            x = x + self.out(o.transpose(1, 2).reshape(b, t, c))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))

    def normal_table(rows, width):
        t = nn.Embedding(rows, width)
        nn.init.normal_(t.weight, std=0.02)
        return t

    class GPT(nn.Module):
        def __init__(self, a):
            super().__init__()
            self.wte, self.wpe = normal_table(a.vocab, a.width), normal_table(a.seq, a.width)
            self.blocks = nn.Sequential(*(Block(a.width, a.heads, True) for _ in range(a.layers)))
            self.ln_f = nn.LayerNorm(a.width)
            self.head = nn.Linear(a.width, a.vocab)

        def forward(self, ids, targets):
            pos = torch.arange(ids.shape[1], device=ids.device)
            h = self.ln_f(self.blocks(self.wte(ids) + self.wpe(pos)))
            return F.cross_entropy(self.head(h).flatten(0, 1), targets)

    def l2_normalise(x):
        return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + 1e-12)

    class ViT(nn.Module):
        def __init__(self, a):
            super().__init__()
            d, tokens = a.vision_dim, (a.image // a.patch) ** 2 + 1
            self.patch = nn.Conv2d(1, d, a.patch, stride=a.patch)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.pos = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
            self.blocks = nn.Sequential(
                *(Block(d, a.vision_heads, False) for _ in range(a.vision_layers)))
            self.ln_post = nn.LayerNorm(d)

        def forward(self, x):
            p = self.patch(x).flatten(2).transpose(1, 2)
            h = torch.cat([self.cls.expand(x.shape[0], -1, -1), p], 1) + self.pos
            return self.ln_post(self.blocks(h)[:, 0])

    class CLIP(nn.Module):
        def __init__(self, a):
            super().__init__()
            self.visual = ViT(a)
            self.visual_proj = nn.Linear(a.vision_dim, a.embed_dim, bias=False)
            self.token_embedding = normal_table(a.text_vocab, a.text_dim)
            self.text_pos = nn.Parameter(torch.randn(a.context, a.text_dim) * 0.02)
            self.text_blocks = nn.Sequential(
                *(Block(a.text_dim, a.text_heads, True) for _ in range(a.text_layers)))
            self.ln_final = nn.LayerNorm(a.text_dim)
            self.text_proj = nn.Linear(a.text_dim, a.embed_dim, bias=False)
            self.logit_scale = nn.Parameter(torch.tensor([LOGIT_SCALE_INIT]))

        def forward(self, images, ids, eot_rows):
            img = l2_normalise(self.visual_proj(self.visual(images)))
            h = self.ln_final(self.text_blocks(self.token_embedding(ids) + self.text_pos))
            txt = l2_normalise(self.text_proj(h.flatten(0, 1)[eot_rows]))
            logits = self.logit_scale.exp() * img @ txt.t()
            targets = torch.arange(logits.shape[0], device=logits.device)
            return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets))

    return GPT, CLIP


def make_inputs(torch, a, device):
    """Random data: token ids and next-token targets, or images, captions
    and end-of-text rows (each caption ends at a random position >= 1)."""
    g = torch.Generator().manual_seed(0)
    if a.model == "gpt":
        ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)
        targets = torch.randint(0, a.vocab, (a.batch * a.seq,), generator=g)
        return [ids.to(device), targets.to(device)]
    images = torch.randn(a.batch, 1, a.image, a.image, generator=g)
    ids = torch.randint(0, a.text_vocab, (a.batch, a.context), generator=g)
    ends = torch.randint(1, a.context, (a.batch,), generator=g)
    eot_rows = torch.arange(a.batch) * a.context + ends
    return [images.to(device), ids.to(device), eot_rows.to(device)]


def adamw(torch, model, a):
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": a.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    betas = (0.9, a.beta2)
    if a.device == "cuda":
        try:
            return torch.optim.AdamW(groups, lr=a.lr, betas=betas, fused=True), "fused AdamW"
        except (TypeError, RuntimeError):
            pass
    return torch.optim.AdamW(groups, lr=a.lr, betas=betas), "AdamW"


def run(torch, a):
    import torch.nn as nn
    import torch.nn.functional as F

    exact, rss0 = prepare(torch, a)
    GPT, CLIP = define_models(torch, nn, F)
    model = (GPT(a) if a.model == "gpt" else CLIP(a)).to(a.device)
    opt, opt_name = adamw(torch, model, a)
    inputs = make_inputs(torch, a, a.device)
    mode = "eager"
    loss_fn = model
    if a.device == "cuda" and hasattr(torch, "compile") and not a.no_compile:
        loss_fn, mode = torch.compile(model), "torch.compile"

    def step(fn):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=a.device, dtype=torch.bfloat16, enabled=a.bf16):
            loss = fn(*inputs)
        loss.backward()
        if a.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
        opt.step()
        if a.model == "clip":
            with torch.no_grad():
                model.logit_scale.clamp_(0.0, LOGIT_SCALE_MAX)

    ms = time_calls(torch, a, step, loss_fn)
    if a.bf16:
        mode += ", bf16 autocast"
    if a.device == "cpu":
        mode += f", BLAS {blas_info(torch)}"
    return {"available": True, "torch": torch.__version__, "mode": f"{mode}, {opt_name}",
            "threads": torch.get_num_threads(), "ms": ms, "peak_mb": peak_mb(torch, a, rss0),
            "peak_exact": exact}


if __name__ == "__main__":
    sys.exit(main(parse_args, run))
