"""The generator metrics restated with NumPy and SciPy, for test_metrics.cpp.

Reads a file of two feature sets (int64 na, nb, d, then float32 a[na, d] and
b[nb, d]) and prints one JSON object:
  fid        pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of
             S1 S2, the real part of its trace)
  mmd2       the unbiased MMD^2 of a and b under (x.y/d + 1)^3 on the whole
             sets, as torch-fidelity's mmd2 / clean-fid's kernel_distance
  precision, recall, density, coverage
             clovaai/generative-evaluation-prdc's compute_prdc (k = 3), a
             real and b fake
Exit 77 with "SKIPPED: <why>" when NumPy or SciPy is missing.
"""
import json
import struct
import sys

try:
    import numpy as np
    from scipy import linalg
except ImportError as e:
    print(f"SKIPPED: the peer python lacks numpy/scipy ({e})")
    sys.exit(77)


def read_sets(path):
    with open(path, "rb") as f:
        na, nb, d = struct.unpack("<qqq", f.read(24))
        a = np.frombuffer(f.read(4 * na * d), dtype="<f4").reshape(na, d)
        b = np.frombuffer(f.read(4 * nb * d), dtype="<f4").reshape(nb, d)
    return a.astype(np.float64), b.astype(np.float64)


def fid(a, b):
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def mmd2(a, b):
    d = a.shape[1]
    m = a.shape[0]
    k_xx = (a @ a.T / d + 1) ** 3
    k_yy = (b @ b.T / d + 1) ** 3
    k_xy = (a @ b.T / d + 1) ** 3
    xx = k_xx.sum() - np.diagonal(k_xx).sum()
    yy = k_yy.sum() - np.diagonal(k_yy).sum()
    return float((xx + yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def pairwise(x, y):
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.sqrt(np.maximum(sq, 0))


def kth(d, k):
    return np.partition(d, k - 1, axis=-1)[..., k - 1]


def prdc(real, fake, k=3):
    r_radii = kth(pairwise(real, real), k + 1)
    f_radii = kth(pairwise(fake, fake), k + 1)
    d_rf = pairwise(real, fake)
    inside_real = d_rf < r_radii[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((d_rf < f_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((d_rf.min(axis=1) < r_radii).mean()),
    }


def main():
    a, b = read_sets(sys.argv[1])
    out = {"fid": fid(a, b)}
    if a.shape[0] == b.shape[0]:
        out["mmd2"] = mmd2(a, b)
    out.update(prdc(a, b))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
