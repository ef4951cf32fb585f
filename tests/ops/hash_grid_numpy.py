"""The hash grid against a small NumPy re-implementation.

Usage: /usr/bin/python3 hash_grid_numpy.py OPS_ENCODING_BINARY

Runs the binary's HashGridNumpy test, which writes the CPU kernels' inputs,
forward output and table gradient for a few grids (tests/ops/test_encoding.cpp),
recomputes both from the definition in kernels/common/ag_k_encoding.h with
vectorised NumPy (the map to grid units in f32, as defined; weights, blends
and sums in float64), and compares. Exits 77 (skipped) without NumPy.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIPPED: this python has no numpy")
    sys.exit(77)

PRIMES = (1, 2654435761, 805459861)


def corner_rows(cells, res, table_size):
    """Rows [n, 8] of the 8 corners of each cell [n, 3]; corner k takes the
    upper vertex on axis d when bit d of k is set."""
    offsets = np.array([[(k >> d) & 1 for d in range(3)] for k in range(8)], dtype=np.uint64)
    v = cells[:, None, :].astype(np.uint64) + offsets[None, :, :]
    side = res + 1
    if side ** 3 <= table_size:
        return (v[..., 0] + side * v[..., 1] + side * side * v[..., 2]).astype(np.int64)
    h = np.zeros(v.shape[:2], dtype=np.uint64)
    for d in range(3):
        h ^= (v[..., d] * np.uint64(PRIMES[d])) & np.uint64(0xFFFFFFFF)
    return (h % np.uint64(table_size)).astype(np.int64)


def corner_weights(frac):
    """Trilinear weights [n, 8] from the offsets in the cell [n, 3]."""
    w = np.ones((frac.shape[0], 8))
    for k in range(8):
        for d in range(3):
            w[:, k] *= frac[:, d] if (k >> d) & 1 else 1.0 - frac[:, d]
    return w


def hash_grid(levels, features, log2_table, base, scale, pos, table, gy):
    table_size = 1 << log2_table
    n = pos.shape[0]
    y = np.zeros((n, levels, features))
    gtable = np.zeros_like(table)
    x = np.clip(pos, np.float32(0), np.float32(1))
    for l in range(levels):
        res = int(np.floor(base * scale ** l))
        # The map to grid units is rounded in f32 as the kernels do it: at
        # res ~ 350 that rounding alone moves a weight by ~3e-5.
        p = x * np.float32(res - 1) + np.float32(0.5)
        cells = np.floor(p)
        rows = corner_rows(cells.astype(np.int64), res, table_size)
        w = corner_weights((p - cells).astype(np.float64))
        y[:, l, :] = np.einsum("nk,nkf->nf", w, table[l][rows])
        contrib = w[:, :, None] * gy[:, l, None, :]
        np.add.at(gtable[l], rows.reshape(-1), contrib.reshape(-1, features))
    return y.reshape(n, levels * features), gtable


def check(prefix):
    with open(prefix + ".txt") as f:
        fields = f.read().split()
    levels, features, log2_table = (int(v) for v in fields[:3])
    base, scale = (float(np.float32(v)) for v in fields[3:5])
    n = int(fields[5])
    load = lambda name: np.fromfile(prefix + "_" + name + ".f32", dtype=np.float32)
    pos = load("pos").reshape(n, 3)
    table = load("table").reshape(levels, 1 << log2_table, features).astype(np.float64)
    gy = load("gy").reshape(n, levels, features).astype(np.float64)
    want_y, want_g = hash_grid(levels, features, log2_table, base, scale, pos, table, gy)
    got_y = load("y").reshape(want_y.shape)
    got_g = load("gtable").reshape(want_g.shape)
    errs = []
    for name, want, got in (("y", want_y, got_y), ("gtable", want_g, got_g)):
        err = np.max(np.abs(got - want))
        errs.append("%s %.2e" % (name, err))
        if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            print("FAIL %s: %s differs from NumPy (max abs err %.3e)" % (prefix, name, err))
            return False
    print("ok %s: L=%d F=%d T=2^%d n=%d, max abs err %s" % (os.path.basename(prefix), levels,
                                                            features, log2_table, n,
                                                            ", ".join(errs)))
    return True


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, AG_HASH_GRID_DUMP_DIR=tmp)
        subprocess.run([sys.argv[1], "--gtest_filter=HashGridNumpy.*"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        prefixes = sorted(os.path.join(tmp, f[:-4]) for f in os.listdir(tmp) if f.endswith(".txt"))
        if not prefixes:
            print("FAIL: the binary wrote no grids")
            return 1
        return 0 if all([check(p) for p in prefixes]) else 1


if __name__ == "__main__":
    sys.exit(main())
