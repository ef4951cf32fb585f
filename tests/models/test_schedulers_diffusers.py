#!/usr/bin/env python3
"""aigc's samplers against Hugging Face diffusers' schedulers, whole trajectories.

Usage: test_schedulers_diffusers.py SCHEDULER_TRAJECTORY

Writes a list of configurations (sampler x prediction type x timestep spacing,
plus the beta schedules and every option: set_alpha_to_one, clip_sample,
thresholding, steps_offset, eta, Karras sigmas, final_sigmas_type,
lower_order_final), runs the C driver on them, then runs diffusers' scheduler
of the same name on the same initial sample with the same dummy model and the
same injected noise, and compares every step:
  - aigc's double host path within 1e-5 (max abs; the relative error is shown);
  - aigc's fused f32 kernel within 2e-5 of max(1, |x|) at that step (worst seen: 1.7e-6,
    DDPM over 1000 steps).
diffusers runs in float64: its scheduler modules see torch and numpy through
proxies whose float32 is float64 (they cast schedules to float32 in places),
and randn_tensor returns the noise aigc drew. Configurations diffusers refuses
must be refused by aigc too. Exits 77 (SKIPPED) without diffusers.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                           EulerAncestralDiscreteScheduler, EulerDiscreteScheduler)
    from diffusers.schedulers import (scheduling_ddim, scheduling_ddpm,
                                      scheduling_dpmsolver_multistep,
                                      scheduling_euler_ancestral_discrete,
                                      scheduling_euler_discrete)
except Exception as e:  # any import failure means the peer is absent
    print(f"SKIPPED: diffusers is not importable ({type(e).__name__}: {e})")
    sys.exit(77)

F64_TOL = 1e-5
F32_TOL = 2e-5


class Float64View:
    """A module whose float32 is float64 (everything else passes through)."""

    def __init__(self, module, f64):
        self._module, self._f64 = module, f64

    def __getattr__(self, name):
        return self._f64 if name == "float32" else getattr(self._module, name)


class InjectedNoise:
    """randn_tensor for the scheduler modules: the noise of the current step."""

    def __init__(self):
        self.value = None

    def __call__(self, shape, **_):
        assert self.value is not None, "a scheduler drew noise where aigc draws none"
        return self.value.reshape(shape).clone()


NOISE = InjectedNoise()
MODULES = (scheduling_ddpm, scheduling_ddim, scheduling_euler_discrete,
           scheduling_euler_ancestral_discrete, scheduling_dpmsolver_multistep)


def patch_diffusers():
    torch.set_default_dtype(torch.float64)
    for mod in MODULES:
        mod.torch = Float64View(torch, torch.float64)
        mod.np = Float64View(np, np.float64)
        mod.randn_tensor = NOISE


def dummy_model(x, t):
    j = np.arange(x.size)
    return 0.8 * np.tanh(x) + 0.3 * np.sin(0.013 * t + 0.7 * j)


KEYS = ("kind", "pred", "beta", "spacing", "steps", "T", "offset", "eta", "clip", "thresh",
        "ratio", "max", "alpha1", "karras", "final_zero", "lof")
DEFAULT_SPACING = {"ddpm": "leading", "ddim": "leading", "euler": "linspace",
                   "euler_a": "linspace", "dpmpp_2m": "linspace"}


def config(kind, **kw):
    c = dict(kind=kind, pred="epsilon", beta="linear", spacing=DEFAULT_SPACING[kind], steps=10,
             T=1000, offset=0, eta=0.0, clip=0, thresh=0, ratio=0.9, max=1.5, alpha1=1,
             karras=0, final_zero=1, lof=1)
    c.update(kw)
    return c


def configurations():
    out = []
    kinds = ("ddpm", "ddim", "euler", "euler_a", "dpmpp_2m")
    for kind in kinds:
        for pred in ("epsilon", "v_prediction", "sample"):
            if kind == "euler_a" and pred == "sample":
                continue  # diffusers refuses it: see refused_configurations
            for spacing in ("linspace", "leading", "trailing"):
                out.append(config(kind, pred=pred, spacing=spacing))
        for beta in ("scaled_linear", "squaredcos_cap_v2"):
            out.append(config(kind, beta=beta))
        out.append(config(kind, steps=1))
        out.append(config(kind, spacing="leading", offset=1))
        out.append(config(kind, T=100, steps=7, spacing="trailing", pred="v_prediction"))
    for kind in ("ddpm", "ddim"):
        out.append(config(kind, clip=1))
        out.append(config(kind, clip=1, pred="sample"))
        out.append(config(kind, thresh=1))
        out.append(config(kind, thresh=1, clip=1, ratio=0.995, max=3.0, pred="v_prediction"))
    out.append(config("ddpm", steps=1000, T=1000, spacing="linspace", clip=1))
    for eta in (0.5, 1.0):
        out.append(config("ddim", eta=eta))
        out.append(config("ddim", eta=eta, pred="v_prediction", spacing="trailing", clip=1))
    out.append(config("ddim", alpha1=0))
    out.append(config("ddim", alpha1=0, eta=0.3, spacing="linspace"))
    for fz in (1, 0):
        out.append(config("euler", karras=1, final_zero=fz))
        out.append(config("euler", final_zero=fz, pred="v_prediction", spacing="leading"))
        out.append(config("euler", karras=1, final_zero=fz, spacing="trailing", pred="sample"))
    for karras in (0, 1):
        for fz in (1, 0):
            for lof in (1, 0):
                out.append(config("dpmpp_2m", karras=karras, final_zero=fz, lof=lof))
        out.append(config("dpmpp_2m", karras=karras, final_zero=0, steps=20))
        out.append(config("dpmpp_2m", karras=karras, pred="v_prediction", steps=16, lof=0))
    out.append(config("dpmpp_2m", thresh=1))
    out.append(config("dpmpp_2m", thresh=1, ratio=0.995, max=3.0, pred="v_prediction",
                      spacing="trailing"))
    return out


def refused_configurations():
    """What aigc must refuse (diffusers too where it says so)."""
    return [config("euler_a", pred="sample"), config("ddpm", steps=1001), config("ddim", steps=1001),
            config("ddim", steps=0), config("dpmpp_2m", steps=0)]


def make_scheduler(c):
    common = dict(num_train_timesteps=c["T"], beta_start=1e-4, beta_end=0.02,
                  beta_schedule=c["beta"], prediction_type=c["pred"],
                  timestep_spacing=c["spacing"], steps_offset=c["offset"])
    x0 = dict(clip_sample=bool(c["clip"]), thresholding=bool(c["thresh"]),
              dynamic_thresholding_ratio=c["ratio"], sample_max_value=c["max"])
    final = "zero" if c["final_zero"] else "sigma_min"
    kind = c["kind"]
    if kind == "ddpm":
        return DDPMScheduler(**common, **x0, variance_type="fixed_small")
    if kind == "ddim":
        return DDIMScheduler(**common, **x0, set_alpha_to_one=bool(c["alpha1"]))
    if kind == "euler":
        return EulerDiscreteScheduler(**common, use_karras_sigmas=bool(c["karras"]),
                                      final_sigmas_type=final)
    if kind == "euler_a":
        return EulerAncestralDiscreteScheduler(**common)
    return DPMSolverMultistepScheduler(**common, solver_order=2, algorithm_type="dpmsolver++",
                                       lower_order_final=bool(c["lof"]),
                                       use_karras_sigmas=bool(c["karras"]),
                                       final_sigmas_type=final, thresholding=bool(c["thresh"]),
                                       dynamic_thresholding_ratio=c["ratio"],
                                       sample_max_value=c["max"])


def name_of(c):
    skip = {"kind", "pred", "spacing"}
    base = config(c["kind"])
    extra = " ".join(f"{k}={c[k]}" for k in KEYS if k not in skip and c[k] != base[k])
    return f"{c['kind']:8s} {c['pred'][:7]:7s} {c['spacing']:8s} {extra}"


def run_diffusers(c, rec):
    """Worst errors of aigc's f64 and f32 trajectories against diffusers'."""
    s = make_scheduler(c)
    s.set_timesteps(c["steps"])
    steps = len(s.timesteps)
    shape = rec["shape"]
    total = int(np.prod(shape))
    ts = np.array([float(t) for t in s.timesteps])
    if steps != len(rec["timesteps"]) or np.max(np.abs(ts - rec["timesteps"])) > 1e-9:
        raise AssertionError(f"timesteps differ: diffusers {ts.tolist()} aigc {rec['timesteps']}")
    if abs(float(s.init_noise_sigma) - rec["init_sigma"]) > 1e-9 * max(1.0, rec["init_sigma"]):
        raise AssertionError(f"init_noise_sigma {float(s.init_noise_sigma)} vs {rec['init_sigma']}")
    if rec["init_noise_err"] > 1e-5 * rec["init_sigma"]:
        raise AssertionError(f"ag_sampler_init_noise is {rec['init_noise_err']} off")
    noise = np.array(rec["noise"]).reshape(steps, total)
    f64 = np.array(rec["f64"]).reshape(steps, total)
    f32 = np.array(rec["f32"]).reshape(steps, total)
    x = torch.tensor(rec["x_init"], dtype=torch.float64).reshape(shape)
    worst = dict(abs=0.0, rel=0.0, f32=0.0)
    for i, t in enumerate(s.timesteps):
        xin = s.scale_model_input(x, t)
        m = torch.from_numpy(dummy_model(xin.flatten().numpy(), float(t))).reshape(shape)
        NOISE.value = torch.from_numpy(noise[i])
        kw = {"eta": c["eta"]} if c["kind"] == "ddim" else {}
        x = s.step(m, t, x, **kw).prev_sample
        NOISE.value = None
        ref = x.flatten().numpy()
        scale = max(1.0, float(np.max(np.abs(ref))))
        err = float(np.max(np.abs(f64[i] - ref)))
        worst["abs"] = max(worst["abs"], err)
        worst["rel"] = max(worst["rel"], err / scale)
        worst["f32"] = max(worst["f32"], float(np.max(np.abs(f32[i] - ref))) / scale)
    return worst


def diffusers_refuses(c):
    try:
        s = make_scheduler(c)
        s.set_timesteps(c["steps"])
        x = torch.zeros(2, 3, 4, 4)
        NOISE.value = torch.zeros(96)
        s.step(x, s.timesteps[0], s.scale_model_input(x, s.timesteps[0]))
    except Exception:
        return True
    finally:
        NOISE.value = None
    return False


CLASSES = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler, "euler": EulerDiscreteScheduler,
           "euler_a": EulerAncestralDiscreteScheduler, "dpmpp_2m": DPMSolverMultistepScheduler,
           "dpmpp_2m_karras": DPMSolverMultistepScheduler}


def check_named(driver):
    """aigc's named samplers hold their diffusers class's defaults (the Karras
    variant aside); an unknown name is refused with the list. Returns failures."""
    lines = subprocess.run([driver, "--named"], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    failures = 0
    for rec in records[:-1]:
        cfg = CLASSES[rec["name"]]().config
        want = {"spacing": cfg.timestep_spacing, "steps_offset": cfg.steps_offset}
        for key in ("set_alpha_to_one", "clip_sample", "clip_sample_range", "thresholding",
                    "dynamic_thresholding_ratio", "sample_max_value", "lower_order_final"):
            if key in cfg:
                want[key] = cfg[key]
        if "use_karras_sigmas" in cfg:
            want["use_karras_sigmas"] = rec["name"].endswith("_karras")
        if "final_sigmas_type" in cfg:
            want["final_sigmas_zero"] = cfg.final_sigmas_type == "zero"
        bad = {k: (rec[k], v) for k, v in want.items() if rec[k] != v}
        failures += bool(bad)
        print(f"named {rec['name']:16s} {'FAIL (aigc, diffusers): ' + str(bad) if bad else 'ok'}")
    unknown = records[-1].get("unknown", "")
    ok = "plms" in unknown and all(n in unknown for n in CLASSES)
    failures += not ok
    print(f"named unknown            {'ok' if ok else 'FAIL'}: {unknown}")
    return failures


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    patch_diffusers()
    good, bad = configurations(), refused_configurations()
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path, out_path = os.path.join(tmp, "configs.txt"), os.path.join(tmp, "out.jsonl")
        with open(cfg_path, "w") as f:
            for c in good + bad:
                f.write(" ".join(f"{k}={c[k]}" for k in KEYS) + "\n")
        subprocess.run([sys.argv[1], cfg_path, out_path], check=True)
        with open(out_path) as f:
            records = [json.loads(line) for line in f]
    failures = check_named(sys.argv[1])
    print(f"{'configuration':58s} {'f64 abs':>9s} {'f64 rel':>9s} {'f32 rel':>9s}")
    for c, rec in zip(good, records):
        label = name_of(c)
        if "error" in rec:
            print(f"{label:58s} FAIL: aigc refused it: {rec['error']}")
            failures += 1
            continue
        try:
            w = run_diffusers(c, rec)
        except AssertionError as e:
            print(f"{label:58s} FAIL: {e}")
            failures += 1
            continue
        ok = w["abs"] <= F64_TOL and w["f32"] <= F32_TOL
        failures += not ok
        print(f"{label:58s} {w['abs']:9.2e} {w['rel']:9.2e} {w['f32']:9.2e}{'' if ok else '  FAIL'}")
    for c, rec in zip(bad, records[len(good):]):
        label = name_of(c)
        refused = "error" in rec
        # diffusers accepts steps=0 in places (and then has nothing to run); aigc must refuse.
        must_match = c["steps"] != 0
        ok = refused and (not must_match or diffusers_refuses(c))
        failures += not ok
        print(f"{label:58s} refused: aigc {refused}, diffusers {diffusers_refuses(c)}"
              f"{'' if ok else '  FAIL'}" + (f" ({rec['error']})" if refused else ""))
    print(f"{len(good)} trajectories, {len(bad)} refusals; f64 tolerance {F64_TOL:g} abs, "
          f"f32 tolerance {F32_TOL:g} x max(1, |x|); {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
