"""The peers of bench/compare.py's metric cases: Captum's `infidelity` and `sensitivity_max`
(captum.metrics) and Quantus's `FaithfulnessCorrelation`, in-process on the torch rebuild of the
model (torch_rebuild.py), same instances, same targets, and — for infidelity and faithfulness
correlation — the very attributions Candor is sent, so that the two sides judge the same
explanation and only the metric's own work is compared.

All three metrics draw their perturbations at random, each side with its own generator, so
Candor's value can never equal the peer's exactly, and one draw of each is no comparison: a
sensitivity_max is a maximum, heavy-tailed where a perturbation can cross a ReLU's kink (iris's
saliency is 0 in ~95 % of Captum's draws and 0.3 in the rest). So both sides are run with the
same REFERENCE_SEEDS seeds (untimed; Candor's seed 0 is the timed request's), and the two means
are compared against the standard error of their difference: a gap beyond FLAG_SIGMAS of it plus
FLAG_RTOL of the values (plus FLAG_ATOL, for values that are float noise around 0) is flagged,
for information, since a handful of seeds estimates a spread only roughly; only a gap
GROSS_FACTOR times that tolerance (or different targets) fails the run.

The timed peer call is the metric function alone (with its model calls), once per torch thread
setting, like Captum's side of the explanation cases; Candor's is the whole evaluate request."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import torch
from captum.attr import IntegratedGradients, Saliency
from captum.metrics import infidelity, sensitivity_max
from torch import nn

from captum_peer import IG_KWARGS, thread_timings
from cases import IG_PARAMS, SEED, Case

if TYPE_CHECKING:
    from case_runs import Run

# Seeds of each side's reference runs: the two means and standard deviations are compared (the
# Swift goldens use 30 seeds; 5 keep the slowest case, Quantus on the CNN, within seconds).
REFERENCE_SEEDS = 5
# Flagged (for information) beyond FLAG_SIGMAS · (standard error of the difference of the means)
# + FLAG_RTOL · the larger |mean| + FLAG_ATOL; a failure (exit 1) beyond GROSS_FACTOR times that.
FLAG_SIGMAS, FLAG_RTOL, FLAG_ATOL = 5.0, 0.1, 1e-6
GROSS_FACTOR = 4.0


def explanation_func(module: nn.Module, method: str, method_params: dict):
    """Captum's attribute function of the method Candor re-explains with, its parameters bound
    (sensitivity_max passes it the perturbed inputs and the target)."""
    if method == "saliency":
        return functools.partial(Saliency(module).attribute, abs=method_params.get("abs", True))
    if method == "integrated_gradients" and method_params == IG_PARAMS:
        return functools.partial(IntegratedGradients(module).attribute, baselines=IG_PARAMS["baselines"], **IG_KWARGS)
    raise ValueError(f"no Captum explanation function for {method} {method_params}")


def _infidelity(module, x, target, judged, params):
    """captum.metrics.infidelity with Candor's perturbation: I ~ N(0, noise_std²) per element,
    perturb_func returning (I, x − I)."""
    std = params["noise_std"]

    def perturb(inputs):
        noise = torch.randn_like(inputs) * std
        return noise, inputs - noise

    phi = torch.tensor(judged["attributions"])
    call = functools.partial(infidelity, module, perturb, x, phi, target=target,
                             n_perturb_samples=params["n_perturb_samples"], normalize=params["normalize"])
    return call, {"function": "captum.metrics.infidelity", "perturb_func": f"noise = randn_like(x) · {std:g}; (noise, x − noise)",
                  "n_perturb_samples": params["n_perturb_samples"], "normalize": params["normalize"]}


def _sensitivity(module, x, target, judged, params):
    """captum.metrics.sensitivity_max over Captum's attribute function of the same method."""
    fn = explanation_func(module, judged["method"], judged["method_params"])
    call = functools.partial(sensitivity_max, fn, x, target=target, perturb_radius=params["perturb_radius"],
                             n_perturb_samples=params["n_perturb_samples"])
    return call, {"function": "captum.metrics.sensitivity_max", "explanation_func": f"{judged['method']} "
                  f"{judged['method_params']}", "perturb_radius": params["perturb_radius"],
                  "n_perturb_samples": params["n_perturb_samples"]}


def _faithfulness(module, x, target, judged, params):
    """Quantus 0.6 FaithfulnessCorrelation(nr_runs, subset_size, perturb_baseline) on numpy batches."""
    import quantus

    metric = quantus.FaithfulnessCorrelation(nr_runs=params["n_samples"], subset_size=params["subset_size"],
                                             perturb_baseline=float(params["baselines"]), return_aggregate=False,
                                             disable_warnings=True)
    xb = x.numpy()
    # Quantus 0.6 refuses any subset of a 2-D (tabular) batch (its size check reads x.shape[2:]),
    # so tabular rows go in as one-channel [N, 1, F] and the model flattens them back.
    shape = xb.shape if xb.ndim > 2 else (len(xb), 1, xb.shape[1])
    model = (module if xb.ndim > 2 else nn.Sequential(nn.Flatten(), module)).eval()
    xb, ab = xb.reshape(shape), np.asarray(judged["attributions"], dtype=np.float32).reshape(shape)
    yb = np.atleast_1d(np.asarray(target.numpy() if isinstance(target, torch.Tensor) else target))
    # A copy of the attributions per call: the metric must not see an earlier call's changes.
    call = lambda: metric(model=model, x_batch=xb, y_batch=yb, a_batch=ab.copy(), device="cpu")  # noqa: E731
    return call, {"function": f"quantus {quantus.__version__} FaithfulnessCorrelation", "nr_runs": params["n_samples"],
                  "subset_size": params["subset_size"], "perturb_baseline": float(params["baselines"]),
                  "x_batch_shape": list(shape)}


PEER_CALLS = {"infidelity": _infidelity, "sensitivity_max": _sensitivity, "faithfulness_correlation": _faithfulness}


def metric_values(evaluations: list, metric: str) -> np.ndarray:
    """Candor's per-instance values of `metric` in an evaluate response (NaN where absent)."""
    values = [(e.get("quality") or {}).get(metric) or {} for e in evaluations]
    return np.array([np.nan if v.get("value") is None else v["value"] for v in values], dtype=np.float64)


def as_values(result) -> np.ndarray:
    """A metric's per-instance values (a Captum tensor or Quantus's list) as float64."""
    if isinstance(result, torch.Tensor):
        result = result.detach().numpy()
    return np.asarray(result, dtype=np.float64).reshape(-1)


def spread_agreement(candor: np.ndarray, peer: np.ndarray) -> dict:
    """Both sides' runs ([seeds, instances]) compared per instance: each side's mean and standard
    deviation, the gap between the means in standard errors of their difference, and whether
    every instance is within the flag tolerance (`ok`) and none beyond the gross one
    (`grossly_off`). A NaN on Candor's side counts as outside, never as gross."""
    mean_c, std_c = candor.mean(axis=0), candor.std(axis=0, ddof=1)
    mean_p, std_p = peer.mean(axis=0), peer.std(axis=0, ddof=1)
    se = np.sqrt((std_c ** 2 + std_p ** 2) / len(peer))
    tol = FLAG_SIGMAS * se + FLAG_RTOL * np.maximum(np.abs(mean_c), np.abs(mean_p)) + FLAG_ATOL
    gap = np.abs(mean_c - mean_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        in_se = np.where(se > 0, gap / se, np.where(gap > 0, np.inf, 0.0))
    return {
        "candor_values": candor[0].tolist(),  # seed 0: the timed request's answer
        "candor_means": mean_c.tolist(), "candor_stds": std_c.tolist(),
        "peer_means": mean_p.tolist(), "peer_stds": std_p.tolist(),
        "seeds": len(peer),
        "max_abs_diff": None if np.all(np.isnan(gap)) else float(np.nanmax(gap)),
        "max_gap_in_se": None if np.all(np.isnan(in_se)) else float(np.nanmax(in_se)),
        "tolerance": tol.tolist(),
        "outside": int(np.sum(~(gap <= tol))),
        "ok": bool(np.all(gap <= tol)),
        "grossly_off": bool(np.any(gap > GROSS_FACTOR * tol)),
        "rule": spread_rule(),
    }


def spread_rule() -> str:
    """How a metric's values are judged, in words (latest.json's agreement and latest.md)."""
    return (f"over seeds {SEED}–{SEED + REFERENCE_SEEDS - 1} on each side, |Candor's mean − the peer's mean| ≤ "
            f"{FLAG_SIGMAS:g} · √((std_Candor² + std_peer²) / {REFERENCE_SEEDS}) + {FLAG_RTOL:g} · the larger |mean| "
            f"+ {FLAG_ATOL:g}; flagged for information beyond it, a mismatch beyond {GROSS_FACTOR:g} times it")


class MetricPeer:
    """The peer's side of one metric case: `judged` is what the request judges (Candor's
    attributions, or the method re-explained), `outputs` the torch rebuild's values of the
    explained output for the case's instances (the targets are their argmax); `args` describes
    the peer's call for latest.json."""

    def __init__(self, run: Run, case: Case, module: nn.Module, x: np.ndarray, targets: list, outputs: np.ndarray,
                 params: dict, judged: dict, label: str):
        self.run, self.case, self.targets, self.outputs, self.label = run, case, targets, outputs, label
        target = targets[0] if case.batch == 1 else torch.tensor(targets)
        self._build = functools.partial(PEER_CALLS[case.metric], module, torch.tensor(x), target, judged, params)
        self.args = self._build()[1]

    def measure(self, response: dict, candor_runs: np.ndarray, row: dict) -> None:
        """The reference runs (default threads, seeded) and their agreement with Candor's runs
        over the same seeds (`response` is seed 0's), then the timings per thread setting. Fills
        row["agreement"] and row["peer_timing"]."""
        torch.set_num_threads(self.run.default_threads)
        call, runs = self._build()[0], []
        for seed in range(SEED, SEED + REFERENCE_SEEDS):
            torch.manual_seed(seed)  # Captum's perturbations
            np.random.seed(seed)  # Quantus's subsets
            runs.append(as_values(call()))
        row["agreement"] = self._check(response, candor_runs, np.stack(runs))
        row["peer_timing"] = thread_timings(self.run, self.case, lambda: self._build()[0])
        torch.set_num_threads(self.run.default_threads)

    def _check(self, response: dict, candor_runs: np.ndarray, runs: np.ndarray) -> dict:
        """Candor's values against the peer's (and outputs, targets); a problem when outside the
        tolerance (for information) or grossly off or on other targets (a mismatch)."""
        evaluations = response["evaluations"]
        agree = spread_agreement(candor_runs, runs)
        agree["peer"] = self.args["function"]
        agree["targets_equal"] = [e["target"] for e in evaluations] == self.targets
        got_out = np.array([e["output"] for e in evaluations], dtype=np.float64)
        agree["output_max_abs_diff"] = (float(np.abs(got_out - self.outputs).max())
                                        if got_out.shape == self.outputs.shape else None)
        summary = {k: agree[k] for k in ("candor_means", "candor_stds", "peer_means", "peer_stds", "max_gap_in_se")}
        if agree["grossly_off"] or not agree["targets_equal"]:
            self.run.problems.append(f"{self.label}: Candor vs {agree['peer']} {self.case.metric} values differ grossly "
                                     f"(or the targets differ: {agree['targets_equal']}): {summary}")
        elif not agree["ok"]:
            self.run.problems.append(f"{self.label}: Candor's {self.case.metric} is outside the tolerance around "
                                     f"the peer's (random on both sides, {REFERENCE_SEEDS} seeds each; for "
                                     f"information): {summary}")
        return agree
