#!/usr/bin/python3
"""Regenerates every golden file: runs each tests/golden/gen_<family>.py
module's `generate(outdir)` with PyTorch on the CPU. Needs Debian's
python3-torch (the system /usr/bin/python3):

    /usr/bin/python3 tests/golden/generate.py
"""
import glob
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    sys.path.insert(0, HERE)
    for path in sorted(glob.glob(os.path.join(HERE, "gen_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.manual_seed(0)
        written = module.generate(HERE)
        print(f"{name}: wrote {', '.join(written)}")


if __name__ == "__main__":
    main()
