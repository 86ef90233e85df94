"""Simulated populations on which the verdict rules are calibrated: with no pruning effect at all (sparse
models drawn from the dense distribution) and with planted effects, at the default population's sizes.

Predictions come from a per-example model fitted by eye to the default Fashion-MNIST population (dense,
K = 30): most test images are always right, a few never, the rest right with a probability spread over
(0, 1); a wrong prediction goes to one confusable class 95% of the time; each model carries a small
class bias, so class accuracies vary between models as they do in training. Robustness is simulated
per model from the dense means and spreads measured on the same population. The verdicts are the real
ones (``analysis.run.analyze`` then the rules of ``judge``), so these rates are the rules' error rates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from tqdm import tqdm

from pruning_impact.analysis.predictions import Population
from pruning_impact.analysis.run import ANALYSIS_CODE, analyze
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.executor import run_jobs
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.foundations.provenance import provenance, source_digest
from pruning_impact.verdicts import claims, judge, paper

logger = logging.getLogger(__name__)
BOOK_SIMULATIONS = 50  # populations per scenario behind the book's table (the benchmark runs 200)

LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)
SIZES = {"k": 10, "k_dense": 30, "classes": 10, "n": 10_000}  # the default population's sizes
ALWAYS_RIGHT, NEVER_RIGHT = 0.816, 0.036  # shares of test images the dense models always / never get right
UNCERTAIN_BETA = (0.8, 0.5)  # Beta distribution of the chance of being right, for the other images
ALTERNATIVE_SHARE = 0.95  # share of wrong predictions that go to the image's one confusable class
CLASS_BIAS = 0.25  # std of a model's per-class shift of the log-odds of being right

# Normalized recall difference per class seen in the default population (K = 10 vs 10) at 70% and 90%.
SEEN_CLASS_EFFECTS = {
    0.7: (-0.0009, 0.0039, -0.0091, 0.0014, -0.0033, 0.0021, -0.0063, 0.0041, 0.0023, 0.0055),
    0.9: (-0.0079, 0.0165, -0.0142, 0.0019, -0.0182, 0.0037, -0.0271, 0.0117, 0.0130, 0.0206),
}
# PIEs above the noise floor (192.4) seen in the default population.
SEEN_PIE_EXCESS = {0.1: 7, 0.3: 3, 0.5: 17, 0.7: 45, 0.9: 258}
# Dense models' relative top-1 per corruption (mean, std over models) and the change seen at 90% sparsity.
DENSE_CORRUPTION = {
    "gaussian_noise": (0.929, 0.011, -0.028),
    "shot_noise": (0.962, 0.004, -0.008),
    "impulse_noise": (0.884, 0.023, -0.071),
    "speckle_noise": (0.960, 0.004, -0.009),
    "defocus_blur": (0.944, 0.007, 0.000),
    "gaussian_blur": (0.908, 0.010, -0.003),
    "glass_blur": (0.847, 0.021, 0.029),
    "motion_blur": (0.848, 0.016, 0.005),
    "zoom_blur": (0.885, 0.015, -0.005),
    "fog": (0.347, 0.050, 0.015),
    "brightness": (0.503, 0.072, 0.040),
    "contrast": (0.339, 0.042, 0.008),
    "elastic_transform": (0.916, 0.005, -0.001),
    "pixelate": (0.983, 0.002, 0.000),
    "jpeg_compression": (0.990, 0.001, -0.002),
}
SPARSE_SPREAD = 1.5  # sparse models' spread over dense models' (seen: 1.2-2.5x)
# Dense models' relative top-1 under attack (mean, std over models) and the change seen at 90% sparsity.
DENSE_ATTACK = {"fgsm": (0.537, 0.015, 0.046), "pgd": (0.444, 0.018, -0.056)}
_PAPER_DROP = paper.IMAGENET_C_TABLE5.set_index(["corruption", "sparsity"])["relative_top1"].unstack()
PAPER_CORRUPTION_DROP = (_PAPER_DROP[0.0] - _PAPER_DROP[0.9]).to_dict()


@dataclass(frozen=True)
class Scenario:
    """What pruning does in a simulated population."""

    name: str
    description: str
    class_effects: dict = field(default_factory=dict)  # sparsity -> normalized change per class
    pie_excess: dict = field(default_factory=dict)  # sparsity -> images whose sparse label is changed
    pie_images: str = "easy"  # easy: images the dense models get right; hard: images they mostly get wrong
    corruption_change: dict = field(default_factory=dict)  # corruption -> change of relative top-1 at the top level
    attack_change: dict = field(default_factory=dict)  # attack -> change of relative top-1 at the top level


SCENARIOS = {
    "no-effect": Scenario("no-effect", "no effect: sparse models are drawn from the dense distribution"),
    "seen": Scenario(
        "seen",
        "the effects seen in the default population: class shifts at 70% and 90%, PIE excess on images the "
        "dense models get right, robustness changes per corruption and attack",
        class_effects=SEEN_CLASS_EFFECTS,
        pie_excess=SEEN_PIE_EXCESS,
        pie_images="easy",
        corruption_change={name: change for name, (_, _, change) in DENSE_CORRUPTION.items()},
        attack_change={name: change for name, (_, _, change) in DENSE_ATTACK.items()},
    ),
    "paper": Scenario(
        "paper",
        "the paper's direction where the default population does not show it: the seen class shifts and PIE "
        "excess, but PIEs among images the dense models mostly get wrong, and robustness losses as large "
        "as the paper's Table 5 (its mean loss where a corruption is not listed, and for attacks)",
        class_effects=SEEN_CLASS_EFFECTS,
        pie_excess=SEEN_PIE_EXCESS,
        pie_images="hard",
        corruption_change={
            name: -PAPER_CORRUPTION_DROP.get(name, float(np.mean(list(PAPER_CORRUPTION_DROP.values()))))
            for name in DENSE_CORRUPTION
        },
        attack_change={name: -float(np.mean(list(PAPER_CORRUPTION_DROP.values()))) for name in DENSE_ATTACK},
    ),
}

# The scenario under which each claim holds: its "reproduced" rate there is the rule's power.
PLANTED = {
    "1": "seen",
    "1t": "seen",
    "2a": "seen",
    "2": "paper",
    "2t": "seen",
    "3a": "paper",
    "3a-all": "paper",
    "3b": "paper",
}


UNDERPOWERED = {
    "1r": f"with {SIZES['classes']} classes only a few are ever significant, so a surplus of rising classes "
    "can hardly stand out from the dense-vs-dense splits; no planted effect of a realistic size is tested",
    "2l": "it needs PIEs beyond chance at the lowest sparsity, and the excess seen there in the default "
    f"population ({SEEN_PIE_EXCESS[min(SEEN_PIE_EXCESS)]} images) is far below what chance allows; no planted "
    "effect of a realistic size is tested",
}


def _examples(rng: np.random.Generator, n: int, num_classes: int) -> dict:
    labels = np.repeat(np.arange(num_classes), n // num_classes)
    kind = rng.random(len(labels))
    right = np.where(kind < ALWAYS_RIGHT, 1.0, 0.0)
    middle = kind >= ALWAYS_RIGHT + NEVER_RIGHT
    right[middle] = rng.beta(*UNCERTAIN_BETA, middle.sum())
    alternative = (labels + rng.integers(1, num_classes, len(labels))) % num_classes
    third = (labels + rng.integers(1, num_classes, len(labels))) % num_classes
    third = np.where(third == alternative, (third + 1) % num_classes, third)
    third = np.where(third == labels, (third + 1) % num_classes, third)
    return {"labels": labels, "right": right, "alternative": alternative, "third": third}


def _predict(
    rng,
    ex: dict,
    right: np.ndarray,
    k: int,
    num_classes: int,
    other: np.ndarray | None = None,
    other_share: np.ndarray | None = None,
) -> np.ndarray:
    """[k, N] predictions: right with probability ``right`` (per example, shifted by each model's class
    bias), else the confusable class (or ``other`` where ``other_share`` says so), else a random class."""
    labels = ex["labels"]
    bias = rng.normal(0, CLASS_BIAS, (k, num_classes))[:, labels]
    inner = (right > 0) & (right < 1)
    p = np.broadcast_to(right, (k, len(labels))).copy()
    p[:, inner] = expit(logit(right[inner]) + bias[:, inner])
    correct = rng.random(p.shape) < p
    wrong = np.where(rng.random(p.shape) < ALTERNATIVE_SHARE, ex["alternative"], rng.integers(0, num_classes, p.shape))
    if other is not None:
        wrong = np.where(rng.random(p.shape) < other_share, other, wrong)
    wrong = np.where(wrong == labels, ex["alternative"], wrong)
    return np.where(correct, labels, wrong).astype(np.int16)


def _planted_right(right: np.ndarray, labels: np.ndarray, effects) -> np.ndarray:
    """Per-example probabilities with each class's mean moved by its planted change, on uncertain images."""
    out = right.copy()
    weight = right * (1 - right)
    for c, change in enumerate(effects):
        members = labels == c
        scale = weight[members].mean()
        if scale > 0:
            out[members] = np.clip(right[members] + change * weight[members] / scale, 0, 1)
    return out


def simulate_population(
    scenario: Scenario,
    seed: int,
    k: int = SIZES["k"],
    k_dense: int = SIZES["k_dense"],
    n: int = SIZES["n"],
    num_classes: int = SIZES["classes"],
) -> Population:
    """A population of predictions at the default sizes under ``scenario``."""
    rng = np.random.default_rng(seed)
    ex = _examples(rng, n, num_classes)
    if scenario.pie_images == "easy":
        candidates = np.flatnonzero(ex["right"] >= 0.9)
    else:
        candidates = np.flatnonzero((ex["right"] >= 0.05) & (ex["right"] <= 0.4))
    order = rng.permutation(candidates)
    top1 = {0.0: _predict(rng, ex, ex["right"], k_dense, num_classes)}
    for t in LEVELS:
        right = ex["right"]
        if t in scenario.class_effects:
            right = _planted_right(right, ex["labels"], scenario.class_effects[t])
        share = np.zeros(n)
        changed = order[: scenario.pie_excess.get(t, 0)]
        if scenario.pie_images == "easy":
            right = right.copy()
            right[changed] = 0.25
        else:
            share[changed] = 0.75
        top1[t] = _predict(rng, ex, right, k, num_classes, other=ex["third"], other_share=share)
    settings = get_profile("fashion-mnist").replace(
        population={"population_size": k, "dense_population_size": k_dense, "sparsities": (0.0, *LEVELS)}
    )
    names = tuple(f"class {c}" for c in range(num_classes))
    top5 = {t: p[:, :, None] for t, p in top1.items()}
    return Population(settings, names, ex["labels"], top1, top5)


def simulate_robustness(
    scenario: Scenario, seed: int, k: int = 10, pool: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-model corruption and adversarial tables (the columns the verdicts read) for ``pool`` dense
    models and ``k`` models at 90% sparsity."""
    rng = np.random.default_rng(seed)
    corruption, adversarial = [], []
    for sparsity, models in ((0.0, pool), (0.9, k)):
        spread = 1.0 if sparsity == 0 else SPARSE_SPREAD
        for model in range(models):
            for name, (mean, std, _) in DENSE_CORRUPTION.items():
                change = scenario.corruption_change.get(name, 0.0) if sparsity else 0.0
                corruption.append((sparsity, model, name, mean + change + spread * std * rng.standard_normal()))
            for attack, (mean, std, _) in DENSE_ATTACK.items():
                change = scenario.attack_change.get(attack, 0.0) if sparsity else 0.0
                relative = mean + change + spread * std * rng.standard_normal()
                adversarial.append((sparsity, model, attack, 0.03, 0.9 * relative, 0.9))
    return (
        pd.DataFrame(corruption, columns=["sparsity", "model", "corruption", "relative_top1"]),
        pd.DataFrame(adversarial, columns=["sparsity", "model", "attack", "epsilon", "top1", "clean_top1"]),
    )


def simulated_verdicts(scenario: Scenario, seed: int, options: AnalysisOptions | None = None) -> dict[str, str]:
    """Claim label -> verdict on one simulated population, through the real analysis and rules."""
    options = options or AnalysisOptions()
    tables = analyze(simulate_population(scenario, seed), options)
    found = {v.label: v.verdict for v in judge.analysis_verdicts(tables, options.alpha)}
    corruption, adversarial = simulate_robustness(scenario, seed)
    tables = {"corruption_accuracy": corruption, "adversarial_accuracy": adversarial}
    found.update(
        {
            v.label: v.verdict
            for v in judge.robustness_verdicts(tables, DenseSplit(SIZES["k_dense"], SIZES["k"]), options.alpha)[0]
        }
    )
    return found


def _one(job: tuple[str, int]) -> tuple[str, int, dict[str, str]]:
    name, seed = job
    return name, seed, simulated_verdicts(SCENARIOS[name], seed)


def calibrate(simulations: int = 200, seed: int = 0, workers: int = 1, progress: bool = True) -> pd.DataFrame:
    """Rates of every verdict per claim and scenario over ``simulations`` populations each: one row per
    (claim, scenario) with the share of reproduced, not reproduced, mixed and inconclusive."""
    jobs = [(name, seed * 100_003 + i) for name in SCENARIOS for i in range(simulations)]
    finished = run_jobs(_one, jobs, workers)
    results = [
        result for _, result in tqdm(finished, total=len(jobs), disable=not progress, desc="simulated populations")
    ]
    rows = [
        {"scenario": name, "seed": s, "claim": claim, "verdict": verdict}
        for name, s, found in results
        for claim, verdict in found.items()
    ]
    long = pd.DataFrame(rows)
    rates = (
        long.groupby(["claim", "scenario"])["verdict"]
        .value_counts(normalize=True)
        .unstack(fill_value=0.0)
        .reset_index()
    )
    for column in (claims.REPRODUCED, claims.NOT_REPRODUCED, claims.MIXED, claims.INCONCLUSIVE):
        if column not in rates:
            rates[column] = 0.0
    rates["simulations"] = simulations
    return rates[
        [
            "claim",
            "scenario",
            "simulations",
            claims.REPRODUCED,
            claims.NOT_REPRODUCED,
            claims.MIXED,
            claims.INCONCLUSIVE,
        ]
    ]


def summary(rates: pd.DataFrame) -> dict:
    """The largest "reproduced" rate with no effect (over every claim) and the smallest under the planted
    effect each claim is tested with (``PLANTED``)."""
    null = rates[rates["scenario"] == "no-effect"]
    planted = [
        float(rates.loc[(rates["claim"] == claim) & (rates["scenario"] == scenario), claims.REPRODUCED].iloc[0])
        for claim, scenario in PLANTED.items()
    ]
    return {"null_max": float(null[claims.REPRODUCED].max()), "planted_min": min(planted)}


def rules_digest() -> str:
    """A hash of the code the error rates depend on (simulation, analysis, statistics, verdict rules)."""
    rules = [f"pruning_impact.verdicts.{name}" for name in ("claims", "class_rules", "pie_rules", "robustness_rules")]
    return source_digest(__name__, "pruning_impact.verdicts.judge", *rules, *ANALYSIS_CODE)[:16]


def calibration_folder(results_dir: str | Path, simulations: int, seed: int = 0) -> tuple[Path, dict]:
    """Where the rates of ``simulations`` populations per scenario are stored, and what they are made from."""
    inputs = {"simulations": simulations, "seed": seed, "code": rules_digest()}
    return store.calibration_dir(results_dir, f"n{simulations}-seed{seed}"), inputs


def run_calibration(
    results_dir: str | Path,
    simulations: int = BOOK_SIMULATIONS,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """``calibrate``'s rates, cached in the results folder until the rules' code changes."""
    folder, inputs = calibration_folder(results_dir, simulations, seed)

    def compute() -> dict[str, pd.DataFrame]:
        if progress:
            logger.info("Calibrating the verdict rules on %d simulated populations per scenario ...", simulations)
        return {"rates": calibrate(simulations, seed, workers, progress)}

    return folders.cached_tables(folder, inputs, compute, {"provenance": provenance()})["rates"]


def read_calibration(results_dir: str | Path, simulations: int = BOOK_SIMULATIONS, seed: int = 0) -> pd.DataFrame:
    """The stored rates for the current rules; when missing or stale, an error naming the command."""
    folder, inputs = calibration_folder(results_dir, simulations, seed)
    command = f"pruning-impact calibrate --results {results_dir} --simulations {simulations}"
    return folders.fresh_tables(folder, inputs, "error rates of the verdict rules", command)["rates"]
