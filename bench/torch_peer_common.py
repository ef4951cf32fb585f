"""What the PyTorch peers of `aigc-bench pipelines` share (torch_peer_pipelines.py,
torch_peer_generators.py, torch_peer_nerf.py): the command-line frame, device
set-up, timing, memory measures and the torch.compile rerun, so every peer
measures the same way and prints one JSON line the bench reads."""
import argparse
import json
import os
import re
import statistics
import sys
import time


def int_list(text):
    return [int(v) for v in text.split(",")]


def argument_parser(doc, first, choices):
    """The arguments every peer takes: which row (`first`, one of choices),
    the device, CPU threads, warmup and timed calls, eager only."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument(first, choices=choices)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3, help="timed calls")
    ap.add_argument("--no-compile", action="store_true", help="eager only, also on CUDA")
    return ap


def blas_info(torch):
    """The BLAS this PyTorch was built against, which its f32 CPU products
    run on ("generic" is the system's libblas, e.g. Debian's reference
    netlib BLAS, far slower than MKL or OpenBLAS)."""
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return found.group(1) if found else "unknown"


def peak_rss_kb():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])


def reset_peak_rss():
    """Makes the high-water mark the current RSS; False where the kernel
    does not allow it (the growth is then measured from the process start)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def prepare(torch, a):
    """Threads on the CPU, TF32 off on CUDA (aigc's f32 kernels use none),
    the memory baseline and the seed. Returns (peak_exact, rss0): whether the
    CPU's peak RSS could be reset, and the RSS (KiB) growth is measured from."""
    if a.device == "cpu":
        torch.set_num_threads(a.threads)
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.cuda.reset_peak_memory_stats()
    exact = a.device != "cpu" or reset_peak_rss()
    rss0 = peak_rss_kb()[1]
    torch.manual_seed(0)
    return exact, rss0


def peak_mb(torch, a, rss0):
    """MiB: the CPU's peak RSS growth over rss0 (KiB), CUDA's allocator peak."""
    if a.device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return (peak_rss_kb()[0] - rss0) / 1024


def time_calls(torch, a, call, fn):
    """Median milliseconds of a.steps calls of call(fn) after a.warmup untimed
    ones, each ended by the device finishing (on CUDA the allocator's peak is
    reset first, so each mode has its own)."""
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    if a.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(a.warmup):
        call(fn)
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        call(fn)
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def compiled(torch, a, model, call, result, timer=time_calls):
    """The same calls with the model under torch.compile, on CUDA, timed by
    timer (time_calls' arguments)."""
    if a.device != "cuda":
        return {"available": False, "why": "torch.compile is timed on CUDA only"}
    if a.no_compile or not hasattr(torch, "compile"):
        why = "--no-compile" if a.no_compile else f"torch {torch.__version__} has no torch.compile"
        return {"available": False, "why": why}
    try:
        ms = timer(torch, a, call, torch.compile(model))
    except Exception as e:  # the eager result stands; say why this one does not
        return {"available": False, "why": f"torch.compile failed: {type(e).__name__}: {e}"[:150]}
    return dict(result, mode="torch.compile", ms=ms, peak_mb=peak_mb(torch, a, 0))


def main(parse_args, run, unsupported=lambda a: None):
    """Parses, imports torch and prints run(torch, args) as one JSON line, or
    {"available": false, "why"} when the config is one the peer does not
    implement, PyTorch cannot be imported, or it has no CUDA device."""
    a = parse_args()
    why = unsupported(a)
    if not why:
        try:
            import torch
        except ImportError as e:
            why = f"cannot import torch: {e}"
    if not why and a.device == "cuda" and not torch.cuda.is_available():
        why = "this PyTorch has no CUDA device"
    print(json.dumps({"available": False, "why": why} if why else run(torch, a)))
    return 0


if __name__ == "__main__":
    sys.exit("torch_peer_common.py is a module of the bench's peers, not a peer")
