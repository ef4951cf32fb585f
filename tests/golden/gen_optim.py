"""Golden values for the optim ops: torch.optim.AdamW and torch.optim.SGD run
for three steps (each step's state before and after is one case, so the
trajectory is pinned step by step), and torch.nn.utils.clip_grad_norm_ over a
list of gradients split into aigc's sq_norm accumulation and clip_scale."""
import os
import struct

import torch

import agold

STEPS = 3
SHAPES = [(7,), (3, 5)]


def f32_bits(x):
    """adamw's weight decay travels in i[1] as its f32 bit pattern."""
    return struct.unpack("<I", struct.pack("<f", x))[0]


def adamw_cases(master):
    cases = []
    hp = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    for shape in SHAPES:
        p = torch.nn.Parameter(torch.randn(shape))
        opt = torch.optim.AdamW([p], **hp)
        m, v = torch.zeros(shape), torch.zeros(shape)
        for t in range(1, STEPS + 1):
            p_in = p.detach().clone()
            p.grad = torch.randn(shape)
            opt.step()
            st = opt.state[p]
            m_out, v_out = st["exp_avg"].clone(), st["exp_avg_sq"].clone()
            f = (hp["lr"], hp["betas"][0], hp["betas"][1], hp["eps"])
            i = (t, f32_bits(hp["weight_decay"]))
            name = f"shape{len(shape)}_step{t}"
            if master:
                inputs, outputs = [p.grad, p_in, m, v], [p, p, m_out, v_out]
            else:
                inputs, outputs = [p_in, p.grad, m, v], [p, m_out, v_out]
            cases.append(agold.case(name, inputs, outputs, f=f, i=i, rtol=1e-5, atol=1e-6))
            m, v = m_out, v_out
    return cases


SGD_VARIANTS = {
    "momentum": dict(momentum=0.9, weight_decay=1e-2),
    "nesterov": dict(momentum=0.9, weight_decay=1e-2, nesterov=True),
    "dampening": dict(momentum=0.8, dampening=0.25),
    "plain": dict(momentum=0.0, weight_decay=0.1),
}


def sgd_cases():
    cases = []
    lr = 0.05
    for vname, hp in SGD_VARIANTS.items():
        shape = (3, 5)
        p = torch.nn.Parameter(torch.randn(shape))
        opt = torch.optim.SGD([p], lr=lr, **hp)
        buf = torch.zeros(shape)
        for t in range(1, STEPS + 1):
            p_in = p.detach().clone()
            p.grad = torch.randn(shape)
            opt.step()
            has_buf = hp["momentum"] != 0
            buf_out = opt.state[p]["momentum_buffer"].clone() if has_buf else None
            f = (lr, hp["momentum"], hp.get("weight_decay", 0.0), hp.get("dampening", 0.0))
            i = (int(hp.get("nesterov", False)), int(t == 1))
            cases.append(agold.case(f"{vname}_step{t}", [p_in, p.grad, buf], [p, buf_out],
                                    f=f, i=i, rtol=1e-5, atol=1e-6))
            buf = buf_out if has_buf else torch.zeros(shape)
    return cases


def clip_cases():
    """One group per max_norm: sq_norm cases chain the accumulator over the
    gradients; clip_scale cases scale each gradient by the group's total."""
    sq, clip = [], []
    for max_norm, spread in [(1.0, 1.0), (50.0, 0.5)]:
        grads = [torch.randn(s) * spread for s in [(7,), (3, 5), (2, 2, 3)]]
        params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        acc = torch.zeros(1)
        for k, g in enumerate(grads):
            nxt = (acc.double() + (g.double() ** 2).sum()).float()
            sq.append(agold.case(f"max{max_norm:g}_grad{k}", [g, acc], [nxt], rtol=1e-6, atol=1e-7))
            acc = nxt
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        for k, (p, g) in enumerate(zip(params, grads)):
            clip.append(agold.case(f"max{max_norm:g}_grad{k}", [g, acc], [p.grad], f=(max_norm,),
                                   rtol=1e-5, atol=1e-6))
    return sq, clip


def generate(outdir):
    sq, clip = clip_cases()
    files = {
        "optim_adamw.json": ("adamw", adamw_cases(master=False)),
        "optim_adamw_master.json": ("adamw_master", adamw_cases(master=True)),
        "optim_sgd.json": ("sgd", sgd_cases()),
        "optim_sq_norm.json": ("sq_norm", sq),
        "optim_clip_scale.json": ("clip_scale", clip),
    }
    for fname, (op, cases) in files.items():
        agold.write(os.path.join(outdir, fname), op, cases)
    return list(files)
