"""Golden values for the embedding ops: the lookup (forward and the table
gradient) and the sinusoidal timestep embedding against diffusers'
get_timestep_embedding, restated in torch."""
import math
import os

import torch

import agold


def get_timestep_embedding(timesteps, embedding_dim, flip_sin_to_cos=False,
                           downscale_freq_shift=1.0, scale=1.0, max_period=10000):
    """diffusers.models.embeddings.get_timestep_embedding, formula for formula."""
    half_dim = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half_dim, dtype=torch.float32)
    exponent = exponent / (half_dim - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].float() * emb[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half_dim:], emb[:, :half_dim]], dim=-1)
    if embedding_dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1, 0, 0))
    return emb


def lookup_cases():
    cases = []
    for vocab, dim, ids_shape in [(6, 4, (9,)), (5, 3, (2, 4)), (4, 5, (2, 2, 3))]:
        table = torch.randn(vocab, dim).requires_grad_(True)
        ids = torch.randint(0, vocab, ids_shape, dtype=torch.int32)
        y = torch.nn.functional.embedding(ids.long(), table)
        gy = torch.randn(y.shape)
        (gt,) = torch.autograd.grad(y, table, gy)
        cases.append(agold.case(f"ids{len(ids_shape)}", [table, ids], [y], grad_outputs=[gy],
                                grad_inputs=[gt, None]))
    return cases


def timestep_cases():
    cases = []
    t = torch.tensor([0.0, 1.0, 17.0, 250.0, 999.0])
    for dim, flip, max_period, shift in [(8, 0, 0.0, 1.0), (16, 1, 0.0, 0.0), (7, 0, 500.0, 1.0),
                                         (32, 1, 10000.0, 1.0)]:
        y = get_timestep_embedding(t, dim, flip_sin_to_cos=bool(flip), downscale_freq_shift=shift,
                                   max_period=max_period or 10000)
        # sin/cos of arguments up to ~1000 in f32: absolute error ~1e-4.
        cases.append(agold.case(f"dim{dim}_flip{flip}", [t], [y], f=[max_period, shift],
                                i=[dim, flip], rtol=1e-4, atol=3e-4))
    return cases


def generate(outdir):
    files = {
        "embedding_embedding.json": ("embedding", lookup_cases),
        "embedding_timestep_embedding.json": ("timestep_embedding", timestep_cases),
    }
    for fname, (op, make) in files.items():
        agold.write(os.path.join(outdir, fname), op, make())
    return list(files)
