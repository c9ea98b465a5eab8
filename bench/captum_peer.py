"""Captum, the peer of bench/compare.py's gradient, perturbation and CNN cases: in-process on
the torch rebuild of the model (torch_rebuild.py), same input tensor, same targets. Only the
`attribute` call is timed, once per thread setting (1 and torch's default); the reference
call's values are checked against Candor's first response."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch
from captum.attr import (LRP, Deconvolution, DeepLift, GuidedBackprop, GuidedGradCam, LayerAttribution, LayerGradCam,
                         FeatureAblation, InputXGradient, IntegratedGradients, Occlusion, Saliency,
                         ShapleyValues, ShapleyValueSampling)
from captum.robust import MinParamPerturbation
from scipy import ndimage
from torch import nn

from cases import IG_PARAMS, SEED, Case
from measurement import ratio, summarise, timed_loop

if TYPE_CHECKING:
    from case_runs import Run

# Captum warns on every call that it set requires_grad on the input; that is expected.
warnings.filterwarnings("ignore", message=r"Input Tensor \d+ did not already require gradients")
# Agreement tolerance (float32): max |Candor − Captum| ≤ ATOL + RTOL · max |Captum|.
ATOL, RTOL = 1e-5, 1e-4
# Orderings of the high-sample Captum estimate the sampled case is measured against.
SVS_REFERENCE_SAMPLES = 1000
# IntegratedGradients.attribute's arguments for IG_PARAMS' steps and integration rule (Candor's
# names → Captum's); the baseline 0 is given by each caller in the form its call needs.
IG_KWARGS = {"n_steps": IG_PARAMS["n_steps"], "method": IG_PARAMS["integration"]}


def captum_call(module: nn.Module, method: str, x: torch.Tensor, target, kwargs: dict | None = None):
    kwargs = kwargs or {}
    if method == "saliency":
        explainer = Saliency(module)
        return lambda: explainer.attribute(x, target=target, abs=True)
    if method == "input_x_gradient":
        explainer = InputXGradient(module)
        return lambda: explainer.attribute(x, target=target)
    if method == "integrated_gradients":
        explainer = IntegratedGradients(module)
        # Candor always returns convergence_delta, so Captum computes it too.
        return lambda: explainer.attribute(x, baselines=torch.zeros_like(x), target=target, **IG_KWARGS,
                                           return_convergence_delta=True)
    if method == "deeplift":
        explainer = DeepLift(module)
        return lambda: explainer.attribute(x, baselines=torch.zeros_like(x), target=target, return_convergence_delta=True)
    if method in ("guided_backprop", "deconvolution"):
        explainer = (GuidedBackprop if method == "guided_backprop" else Deconvolution)(module)
        return lambda: explainer.attribute(x, target=target)
    if method in ("grad_cam", "guided_grad_cam"):
        # Candor's default layer: the last Conv node's output.
        layer = module[max(i for i, m in enumerate(module) if isinstance(m, nn.Conv2d))]
        if method == "guided_grad_cam":
            explainer = GuidedGradCam(module, layer)
            return lambda: explainer.attribute(x, target=target, interpolate_mode="nearest")
        explainer = LayerGradCam(module, layer)
        return lambda: LayerAttribution.interpolate(explainer.attribute(x, target=target), tuple(x.shape[2:]), "bilinear")
    if method == "lrp":
        explainer = LRP(FunctionalFlatten(module))
        return lambda: explainer.attribute(x, target=target, return_convergence_delta=True)
    if method == "min_perturbation":
        return _min_perturbation_call(module, x, target, kwargs)
    perturbation = {"feature_ablation": FeatureAblation, "occlusion": Occlusion,
                    "exact_shapley": ShapleyValues, "shapley_value_sampling": ShapleyValueSampling}
    if method in perturbation:
        explainer = perturbation[method](module)
        return lambda: explainer.attribute(x, baselines=0.0, target=target, **kwargs)
    raise ValueError(method)


def thread_timings(run: Run, case: Case, make_call, candor_median_ms: float | None = None) -> dict:
    """{"threads_N": summary} of the call `make_call()` returns, timed at each of the run's torch
    thread settings (a fresh call per setting, so nothing built under one setting is reused
    under the other), and, given Candor's median, {"ratio_median_threads_N": peer / Candor}
    after each. Leaves torch on the last setting: callers restore the default."""
    warm, calls = case.peer_loop(run.args)
    out = {}
    for nt in run.thread_settings:
        torch.set_num_threads(nt)
        out[f"threads_{nt}"] = summarise(timed_loop(make_call(), warm, calls, run.args.max_case_seconds))
        if candor_median_ms is not None:
            out[f"ratio_median_threads_{nt}"] = ratio(out[f"threads_{nt}"]["median_ms"], candor_median_ms)
    return out


class FunctionalFlatten(nn.Module):
    """The chain with its nn.Flatten layers applied as functions: Captum's LRP refuses any leaf
    module it has no rule for, Flatten included."""

    def __init__(self, module: nn.Sequential):
        super().__init__()
        self.parts = nn.ModuleList()
        self.flattens = []
        part = []
        for layer in module:
            if isinstance(layer, nn.Flatten):
                self.parts.append(nn.Sequential(*part))
                self.flattens.append(layer.start_dim)
                part = []
            else:
                part.append(layer)
        self.parts.append(nn.Sequential(*part))

    def forward(self, x):
        for index, part in enumerate(self.parts):
            x = part(x)
            if index < len(self.flattens):
                x = torch.flatten(x, self.flattens[index])
        return x


def jsonable(kwargs: dict) -> dict:
    """Captum's keyword arguments as JSON values (tensors and tuples as lists)."""
    return {k: (v.tolist() if isinstance(v, torch.Tensor) else list(v) if isinstance(v, tuple) else v)
            for k, v in kwargs.items()}


def _per_channel(inputs: torch.Tensor, transform) -> torch.Tensor:
    """`transform` on each [H, W] channel of each image, as float32."""
    images = inputs.detach().numpy()
    return torch.from_numpy(np.asarray([[transform(c) for c in image] for image in images], dtype=np.float32))


# Candor's image perturbations at their defaults (docs/methods.md, min_perturbation), in SciPy,
# with the search range Candor uses by default: (attack, arg_min, arg_max, arg_step).
MIN_PERTURBATIONS = {
    "rotation": (lambda inputs, amount: _per_channel(
        inputs, lambda c: ndimage.rotate(c, amount, order=1, reshape=False, mode="constant", cval=0.0)), 0.0, 180.0, 1.0),
    "gaussian_blur": (lambda inputs, amount: _per_channel(
        inputs, lambda c: ndimage.gaussian_filter(c, amount, mode="reflect", truncate=4.0)), 0.0, 10.0, 0.1),
}


def _min_perturbation_call(module: nn.Module, x: torch.Tensor, target, kwargs: dict):
    """Captum's MinParamPerturbation over one of Candor's perturbations (kwargs `perturbation`
    and `mode`, as the case's Candor params), perturbations_per_eval 1 (Captum's default). The
    value compared with Candor's attributions is perturbed − input (zeros when nothing flips)."""
    attack, lower, upper, step = MIN_PERTURBATIONS[kwargs["perturbation"]]
    search = MinParamPerturbation(module, attack, "amount", lower, upper, step, mode=kwargs.get("mode", "linear"))

    def call():
        with torch.no_grad():
            perturbed, _ = search.evaluate(x, target=target)
        return torch.zeros_like(x) if perturbed is None else perturbed - x
    return call


class CaptumCase:
    """Captum's side of one case: `outputs` are the torch rebuild's values of the explained
    output for the case's instances (the targets are their argmax); `kwargs` are the case's
    extra keyword arguments of `attribute`."""

    def __init__(self, run: Run, case: Case, module: nn.Sequential, nfeat: int, x: np.ndarray, targets: list,
                 outputs: np.ndarray, label: str):
        self.run, self.case, self.module, self.nfeat, self.label = run, case, module, nfeat, label
        self.xt = torch.tensor(x)
        self.targets, self.outputs = targets, outputs
        self.target_arg = targets[0] if case.batch == 1 else torch.tensor(targets)
        self.kwargs = case.captum_kwargs(nfeat)

    def call(self, kwargs: dict):
        return captum_call(self.module, self.case.method, self.xt, self.target_arg, kwargs)

    def measure(self, response: dict, row: dict) -> None:
        """Reference values (default threads) and their agreement with Candor's first response,
        then timings per thread setting. Fills row["agreement"], row["captum"] and, for a case
        with a second Captum setting, row["captum_alt"]."""
        torch.set_num_threads(self.run.default_threads)
        fn = self.call(self.kwargs)
        torch.manual_seed(SEED)  # Captum's sampled orderings come from torch's generator
        ref, ref_delta = fn(), None
        if isinstance(ref, tuple):
            ref, ref_delta = ref
        ref = ref.detach().numpy()
        row["agreement"] = self._check(response, ref, ref_delta)
        row["captum"] = self._timings(self.kwargs)
        if self.case.captum_alt:
            row["captum_alt"] = self._alt_setting(ref, row["candor"]["latency"]["median_ms"])
        torch.set_num_threads(self.run.default_threads)

    def _check(self, response: dict, ref: np.ndarray, ref_delta) -> dict:
        """The agreement of Candor's attributions with Captum's reference call (or, for sampled
        and completeness-only cases, the property both are held to instead)."""
        explanations = response["explanations"]
        got = np.array([e["attributions"] for e in explanations], dtype=np.float64)
        got_out = np.array([e["output"] for e in explanations], dtype=np.float64)
        diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else None
        scale = float(np.abs(ref).max())
        agree = {
            "max_abs_diff": diff,
            "max_abs_reference": scale,
            "relative_to_max": diff / scale if diff is not None and scale > 0 else None,
            "ok": diff is not None and diff <= ATOL + RTOL * scale,
            "output_max_abs_diff": float(np.abs(got_out - self.outputs).max()),
            "targets_equal": [e["target"] for e in explanations] == self.targets,
        }
        cand_delta = np.array([e.get("convergence_delta", np.nan) for e in explanations])
        if ref_delta is not None:
            agree["candor_convergence_delta_max_abs"] = float(np.nanmax(np.abs(cand_delta)))
            agree["captum_convergence_delta_max_abs"] = float(ref_delta.abs().max())
        if self.case.sampled:
            agree.update(self._efficiency(got, ref))
            what = "sampled attributions differ from f(x) − f(x′) (efficiency) or targets differ"
        elif self.case.completeness_only:
            scale = float(np.abs(self.outputs).max())
            agree.update({
                "compared": self.case.completeness_only,
                "ok": bool(np.nanmax(np.abs(cand_delta)) <= ATOL + RTOL * scale),
                "completeness_tolerance": ATOL + RTOL * scale,
            })
            what = "Candor's DeepLIFT is not complete"
        else:
            what = "Candor vs Captum attributions differ"
        if not agree["ok"] or not agree["targets_equal"]:
            self.run.problems.append(f"{self.label}: {what}: {agree}")
        return agree

    def _efficiency(self, got: np.ndarray, ref: np.ndarray) -> dict:
        """Different random orderings on each side (Candor's seeded generator, torch's randperm
        in Captum): the values are not compared one by one. Checked instead: efficiency on both
        sides (every ordering's credits sum to f(x) − f(x′)), and both sides' distance to a
        high-sample Captum estimate, for information."""
        with torch.no_grad():
            f_base = self.module(torch.zeros_like(self.xt)).numpy()
        idx = np.arange(self.case.batch)
        f_x, f_b = self.outputs[idx, self.targets], f_base[idx, self.targets]
        eff_tol = ATOL + RTOL * float(np.abs(f_x).max() + np.abs(f_b).max())
        cand_eff = float(np.abs(got.sum(axis=1) - (f_x - f_b)).max())
        capt_eff = float(np.abs(ref.sum(axis=1) - (f_x - f_b)).max())
        torch.manual_seed(SEED + 1)
        ref_hi = self.call({**self.kwargs, "n_samples": SVS_REFERENCE_SAMPLES})().detach().numpy()
        return {
            "compared": "sampled: not compared value by value (different random orderings)",
            "ok": cand_eff <= eff_tol and capt_eff <= eff_tol,
            "efficiency_tolerance": eff_tol,
            "candor_efficiency_max_abs_error": cand_eff,
            "captum_efficiency_max_abs_error": capt_eff,
            "reference_samples": SVS_REFERENCE_SAMPLES,
            "candor_vs_reference_max_abs": float(np.abs(got - ref_hi).max()),
            "captum_vs_reference_max_abs": float(np.abs(ref - ref_hi).max()),
        }

    def _timings(self, kwargs: dict, candor_median_ms: float | None = None) -> dict:
        """thread_timings of `attribute` with `kwargs`."""
        return thread_timings(self.run, self.case, lambda: self.call(kwargs), candor_median_ms)

    def _alt_setting(self, ref: np.ndarray, candor_median_ms: float) -> dict:
        """Captum's second setting of the case (its default perturbations_per_eval=1): its
        difference from the main setting's values (unless sampled) and its timings."""
        label, alt = self.case.captum_alt
        alt_kwargs = {**self.kwargs, **alt(self.nfeat)}
        out = {"label": label, "kwargs": jsonable(alt_kwargs)}
        torch.set_num_threads(self.run.default_threads)
        if not self.case.sampled:
            torch.manual_seed(SEED)
            alt_ref = self.call(alt_kwargs)()
            out["max_abs_diff_vs_main_setting"] = float(np.abs(alt_ref.detach().numpy() - ref).max())
        return {**out, **self._timings(alt_kwargs, candor_median_ms)}
