"""How often the verdict rules are wrong, on simulated populations that describe this book's own population.

A simulator (``SimulatorFit``) is fitted by simple moments to a stored population (``fit_simulator``): its
sizes, how hard its test images are for the dense models, how wrong predictions spread, how much models
differ per class, and the effects pruning showed (class shifts, PIEs above the noise floor, robustness
changes). Scenarios built from the fit (``scenarios``) plant no effect, the seen effects (at half, once and
twice their size), the paper's shape where this population does not show it, and nulls of the wrong kind:
effects that must not pass for a claim they are not (``NULLS``). Every simulated population goes through
the real analysis and rules (``analysis.run.analyze``, then ``judge``), so the rates are the rules' error
rates (under a null) and power (under ``PLANTED``) at the book's sizes.

The generative model, per test image i of class c: every dense model gets it right (share ``always_right``),
none does (``never_right``), or each model m is right with probability p_i + b_mc p_i (1 - p_i), with p_i
drawn from a Beta (``uncertain_beta``) and b_mc a model's class bias (sd ``class_bias``): the first-order
effect of a shift b of the log-odds, linear so that a bias changes no class's expected accuracy. A wrong
prediction goes to the image's one confusable class (share ``alternative_share``), else to any other wrong
class. Robustness is simulated per model, not per image, from the dense models' means and spreads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as scipy_stats
from tqdm import tqdm

from pruning_impact.analysis.predictions import Population, load_population
from pruning_impact.analysis.run import ANALYSIS_CODE, analyze, run_analysis
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.executor import run_jobs
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.foundations.provenance import provenance, source_digest
from pruning_impact.foundations.settings import Settings
from pruning_impact.verdicts import claims, judge, paper

logger = logging.getLogger(__name__)
BOOK_SIMULATIONS = 16
"""Populations per scenario behind the book's table: one simulated population through the analysis and every
rule takes about 3 s on one core (K = 20/60, N = 10,000; AMD EPYC with AVX-512), so the book's calibration
(11 scenarios) takes about 4.5 minutes with two workers. A rate's standard error is then at most 0.125 (0.05
near 0.05, 0.1 near 0.8): enough to see a rule that is far off, not to certify its third digit; the
benchmark runs more."""
TUNING_SEED = 0
"""The seed of the populations the rules were tuned on (``benchmarks/verdict_calibration.py``'s default)."""
VALIDATION_SEED = 1
"""The seed of the book's calibration: fresh populations, simulated after the rules were frozen on seed 0
(``benchmarks/verdict_calibration.py``, which tunes on seed 0 by default)."""
VERDICTS = (
    claims.REPRODUCED,
    claims.NOT_REPRODUCED,
    claims.MIXED,
    claims.INCONCLUSIVE,
    claims.NOT_EVALUATED,
    claims.NOT_TESTABLE,
)
UNTESTED = (claims.NOT_EVALUATED, claims.NOT_TESTABLE)  # verdicts that say the rule could not judge
PIE_SHIFT = 0.75  # share of a level's sparse models that move a changed image to its third class
CONTESTED = (0.3, 0.7)  # dense chance of being right of the images the dense models split on
NOISE_GROWTH = 2.0  # "noise-grows": sparse models' class bias is class_bias * (1 + NOISE_GROWTH * sparsity)
SCALES = (0.5, 2.0)  # the seen effects scaled, for power beside "seen" (scale 1)
RISES_FALL = 0.15  # "rises": the accuracy one class loses and the others gain, relative to the model
FIGURE4_MIN_EXCESS = 100  # "figure-4": PIE excess at the top level, at least (it grows from half of it)
_TABLE5 = paper.IMAGENET_C_TABLE5.set_index(["corruption", "sparsity"])["relative_top1"].unstack()
PAPER_CORRUPTION_DROP = (_TABLE5[0.0] - _TABLE5[0.9]).to_dict()
"""Table 5's loss of relative top-1 from dense to 90% sparse, per corruption."""


@dataclass(frozen=True)
class SimulatorFit:
    """The simulator's parameters, fitted to one population (``fit_simulator``)."""

    k: int  # sparse models per level
    k_dense: int  # dense models
    classes: int  # classes, balanced in the simulated test set
    n: int  # test images
    levels: tuple[float, ...]  # sparse levels
    always_right: float  # share of test images every dense model gets right
    never_right: float  # share of test images no dense model gets right
    uncertain_beta: tuple[float, float]  # Beta (a, b) of the chance of being right, for the other images
    alternative_share: float  # share of wrong predictions that go to the image's one confusable class
    class_bias: float  # sd over models of a class's shift of the log-odds of being right
    class_effects: dict = field(default_factory=dict)  # level -> normalized recall difference per class
    pie_excess: dict = field(default_factory=dict)  # level -> PIEs above the dense noise floor's mean
    dense_corruption: dict = field(default_factory=dict)  # corruption -> (dense mean, sd, change at the top level)
    dense_attack: dict = field(default_factory=dict)  # attack -> (dense mean, sd, change at the top level)
    sparse_spread: float = 1.0  # sparse models' robustness sd over the dense models' (median ratio)

    def key(self) -> dict:
        """The fit as JSON-ready values rounded to 4 digits: what a cached calibration is keyed by."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str), parse_float=lambda x: round(float(x), 4))

    def shown(self) -> pd.DataFrame:
        """The fit as a reader's table: one row per parameter, nested values summarized."""

        def per_level(values: dict) -> str:
            return ", ".join(f"{100 * float(t):.0f}%: {v:.4g}" for t, v in sorted(values.items()))

        def largest(changes: dict) -> str:
            ranked = sorted(changes.items(), key=lambda item: -abs(item[1][2]))[:3]
            return ", ".join(f"{name.replace('_', ' ')} {change:+.3f}" for name, (_, _, change) in ranked) or "none"

        rows = [
            ("sparse models per level (K)", self.k),
            ("dense models", self.k_dense),
            ("classes", self.classes),
            ("test images", self.n),
            ("share of images always right, in the fitted mixture", self.always_right),
            ("share of images never right, in the fitted mixture", self.never_right),
            (
                "Beta of the chance of being right, other images",
                f"({self.uncertain_beta[0]:.3g}, {self.uncertain_beta[1]:.3g})",
            ),
            ("share of wrong answers to the image's confusable class", self.alternative_share),
            ("models' class bias (sd)", self.class_bias),
            (
                "largest |class change| per level",
                per_level({t: max(map(abs, e)) for t, e in self.class_effects.items()}),
            ),
            ("PIEs above the noise floor per level", per_level(self.pie_excess)),
            ("largest robustness changes at the top level", largest({**self.dense_corruption, **self.dense_attack})),
            ("sparse models' robustness spread over the dense", self.sparse_spread),
        ]
        return pd.DataFrame(rows, columns=["parameter", "fitted value"]).astype({"fitted value": str})

    def table(self) -> pd.DataFrame:
        """The fit as a one-row table (nested values as JSON text)."""
        row = {
            name: json.dumps(value) if isinstance(value, dict | tuple) else value for name, value in self.key().items()
        }
        return pd.DataFrame([row])


# The default Fashion-MNIST population (K = 20 per level, 60 dense, N = 10,000) as ``fit_for_population``
# fitted it (rounded): the fallback where no population is stored (tests, the benchmark without results). A fit
# of a simulated population would only echo the simulator's own inputs; this one describes the book's population.
DEFAULT_FIT = SimulatorFit(
    k=20,
    k_dense=60,
    classes=10,
    n=10_000,
    levels=(0.1, 0.3, 0.5, 0.7, 0.9),
    always_right=0.3772,  # 0.79 of the images are right for all 60; the Beta's mass near 1 explains the rest
    never_right=0.0157,
    uncertain_beta=(0.3679, 0.0572),
    alternative_share=0.9428,
    class_bias=0.2829,
    class_effects={
        0.1: (0.0015, -0.0008, -0.0006, -0.0018, 0.0045, 0.0017, -0.0024, -0.0026, -0.0014, 0.0017),
        0.3: (0.0025, 0.0, -0.0025, 0.0014, -0.0054, 0.0017, -0.001, -0.0011, 0.0008, 0.0037),
        0.5: (0.0003, 0.0001, -0.0013, 0.0017, -0.0008, 0.0016, -0.0059, 0.0006, 0.0006, 0.0029),
        0.7: (-0.0008, 0.0018, -0.0031, -0.0028, 0.0027, 0.0028, -0.0074, 0.0015, 0.0012, 0.004),
        0.9: (-0.001, 0.0087, -0.0132, 0.0012, -0.0091, 0.0069, -0.0199, 0.0047, 0.0106, 0.0112),
    },
    pie_excess={0.1: 13, 0.3: 19, 0.5: 36, 0.7: 48, 0.9: 170},
    dense_corruption={
        "brightness": (0.7186, 0.056, -0.1169),
        "contrast": (0.5344, 0.0603, -0.0671),
        "defocus_blur": (0.9719, 0.005, -0.0054),
        "elastic_transform": (0.9021, 0.0068, -0.0076),
        "fog": (0.5521, 0.0632, -0.1099),
        "gaussian_blur": (0.9622, 0.0057, -0.0064),
        "gaussian_noise": (0.9729, 0.0061, -0.015),
        "glass_blur": (0.8984, 0.0089, 0.0047),
        "impulse_noise": (0.961, 0.0076, 0.0097),
        "jpeg_compression": (0.9957, 0.0033, -0.0008),
        "motion_blur": (0.9001, 0.0155, -0.0203),
        "pixelate": (0.9811, 0.0047, -0.0007),
        "shot_noise": (0.9887, 0.0044, -0.0067),
        "speckle_noise": (0.9862, 0.005, -0.0058),
        "zoom_blur": (0.9262, 0.0086, -0.0155),
    },
    dense_attack={"fgsm": (0.4848, 0.0142, -0.0748), "pgd": (0.4426, 0.0156, -0.0655)},
    sparse_spread=1.2583,
)


@dataclass(frozen=True)
class Scenario:
    """What pruning does in a simulated population."""

    name: str
    description: str
    class_effects: dict = field(default_factory=dict)  # level -> change of each class's accuracy
    class_bias_growth: float = 0.0  # sparse models' class bias: class_bias * (1 + growth * sparsity)
    pie_excess: dict = field(default_factory=dict)  # level -> images whose sparse label is changed
    pie_hardness: dict = field(default_factory=dict)  # level -> (low, high) dense chance of being right of those
    corruption_change: dict = field(default_factory=dict)  # corruption -> change of relative top-1 at the top level
    attack_change: dict = field(default_factory=dict)  # attack -> change of relative top-1 at the top level
    certain: bool = False  # every model right or wrong on an image alike: no chance disagreement at all
    pies_per_level: bool = False  # each level changes images of its own, not the same images at every level


# ------------------------------------------------------------------------------------------------- the fit


def _beta_binomial_fit(counts: np.ndarray, d: int) -> tuple[float, float, float]:
    """(a, b, uncertain share) of a Beta whose Beta-binomial over ``d`` models, truncated to 1..d-1, has the
    mean and variance of the interior ``counts`` (hits per image, 0..d), and the share of images that
    Beta-binomial covers once its own 0 and d are added back (method of moments)."""
    interior = counts[(counts > 0) & (counts < d)].astype(float)
    if len(interior) < 2 or interior.var() == 0:
        return 1.0, 1.0, len(interior) / len(counts)
    target = np.array([interior.mean(), interior.var()]) / d
    support = np.arange(1, d)

    def truncated(params: np.ndarray) -> tuple[np.ndarray, float]:
        pmf = scipy_stats.betabinom.pmf(np.arange(d + 1), d, *np.exp(params))
        inner = pmf[1:d] / pmf[1:d].sum()
        mean = float(inner @ support)
        return np.array([mean, float(inner @ (support - mean) ** 2)]) / d, float(pmf[0] + pmf[d])

    m, v = interior.mean() / d, max(interior.var() / d**2 - interior.mean() / d * (1 - interior.mean() / d) / d, 1e-4)
    start = np.log(np.clip(np.array([m, 1 - m]) * max(m * (1 - m) / v - 1, 0.05), 0.02, 50))
    solved = optimize.least_squares(lambda x: (truncated(x)[0] - target) / target, start, bounds=(-5, 5))
    a, b = np.exp(solved.x)
    return float(a), float(b), len(interior) / len(counts) / (1 - truncated(solved.x)[1])


def _alternative_share(dense: np.ndarray, labels: np.ndarray, classes: int, min_wrong: int = 5) -> float:
    """Share of the dense models' wrong predictions that go to the image's most frequent wrong class, over
    images with at least ``min_wrong`` wrong predictions (with fewer, the most frequent is mostly chance)."""
    wrong = dense != labels
    image = np.broadcast_to(np.arange(len(labels)), dense.shape)[wrong]
    per_class = np.bincount(image * classes + dense[wrong], minlength=len(labels) * classes).reshape(-1, classes)
    total = per_class.sum(axis=1)
    chosen = total >= min_wrong
    return float(per_class[chosen].max(axis=1).sum() / total[chosen].sum()) if chosen.any() else 0.0


def _class_bias(dense: np.ndarray, labels: np.ndarray, classes: int) -> float:
    """The sd of a model's class bias b: the spread over dense models of a class's accuracy beyond what the
    images' own chances give (sum of p(1-p) / n_c^2), over its sensitivity to b (the class mean of p(1-p)),
    averaged over classes as a variance; 0 when the spread is within the noise."""
    hits = dense == labels
    d = len(dense)
    h = hits.mean(axis=0)
    spread = h * (1 - h) * d / (d - 1)  # unbiased p(1-p) per image
    ratios = []
    for c in range(classes):
        members = labels == c
        n_c = members.sum()
        excess = hits[:, members].mean(axis=1).var(ddof=1) - spread[members].sum() / n_c**2
        slope = spread[members].mean()
        if slope > 0:
            ratios.append(excess / slope**2)
    return float(np.sqrt(max(np.mean(ratios), 0.0))) if ratios else 0.0


def _robustness_fit(values: pd.DataFrame, group: str) -> tuple[dict, list[float]]:
    """Per ``group`` (corruption or attack): the dense models' mean and sd of ``value`` and the change of the
    mean at the top level; and the ratios of the top level's sd to the dense sd."""
    per_model = values.groupby(["sparsity", "model", group], as_index=False)["value"].mean()
    top = per_model["sparsity"].max()
    fitted, ratios = {}, []
    for name, part in per_model.groupby(group, sort=False):
        dense, sparse = part.loc[part["sparsity"] == 0, "value"], part.loc[part["sparsity"] == top, "value"]
        fitted[name] = (float(dense.mean()), float(dense.std(ddof=1)), float(sparse.mean() - dense.mean()))
        if dense.std(ddof=1) > 0 and len(sparse) > 1:
            ratios.append(float(sparse.std(ddof=1) / dense.std(ddof=1)))
    return fitted, ratios


def fit_simulator(
    population: Population, tables: dict[str, pd.DataFrame], robustness: dict[str, pd.DataFrame] | None = None
) -> SimulatorFit:
    """The simulator fitted to ``population`` by moments: images' hardness from the per-image dense hit
    counts (always / never right, and a Beta by the method of moments on the rest, ``_beta_binomial_fit``),
    the confusable class's share of wrong predictions, the dense models' class bias (``_class_bias``); the
    effects from the analysis ``tables`` (uncorrected normalized recall differences, PIEs above the noise
    floor's mean); robustness from ``robustness`` (``corruption_accuracy``, ``adversarial_accuracy``: dense
    means and sds, the change at the top level); no robustness is simulated without it."""
    dense, labels, classes = population.top1[0.0], population.labels, population.num_classes
    counts = (dense == labels).sum(axis=0)
    d = len(dense)
    a, b, uncertain = _beta_binomial_fit(counts, d)
    at_ends = uncertain * scipy_stats.betabinom.pmf([0, d], d, a, b)  # uncertain images seen at 0 or d hits
    never, always = (max(float(np.mean(counts == end) - seen), 0.0) for end, seen in zip((0, d), at_ends))
    tests = tables["class_tests"]
    tests = tests[tests["correction"] == "none"].sort_values(["sparsity", "class"])
    effects = {
        float(t): tuple(float(x) for x in part["normalized_recall_difference"]) for t, part in tests.groupby("sparsity")
    }
    floor = float(tables["pie_noise_floor"]["n_pie"].mean())
    excess = {float(r.sparsity): max(0, round(r.n_pie - floor)) for r in tables["pie_counts"].itertuples()}
    corruption, attack, ratios = {}, {}, []
    if robustness is not None and not robustness.get("corruption_accuracy", pd.DataFrame()).empty:
        table = robustness["corruption_accuracy"].rename(columns={"relative_top1": "value"})
        corruption, more = _robustness_fit(table, "corruption")
        ratios += more
    if robustness is not None and not robustness.get("adversarial_accuracy", pd.DataFrame()).empty:
        table = robustness["adversarial_accuracy"]
        attack, more = _robustness_fit(table.assign(value=table["top1"] / table["clean_top1"]), "attack")
        ratios += more
    return SimulatorFit(
        k=min(len(population.top1[t]) for t in population.sparse_levels),
        k_dense=d,
        classes=classes,
        n=len(labels),
        levels=tuple(float(t) for t in population.sparse_levels),
        always_right=always,
        never_right=never,
        uncertain_beta=(a, b),
        alternative_share=_alternative_share(dense, labels, classes),
        class_bias=_class_bias(dense, labels, classes),
        class_effects=effects,
        pie_excess=excess,
        dense_corruption=corruption,
        dense_attack=attack,
        sparse_spread=float(np.median(ratios)) if ratios else 1.0,
    )


def stored_robustness(results_dir: str | Path, settings: Settings) -> dict[str, pd.DataFrame] | None:
    """The robustness tables of the population's largest finished evaluation, or None without one. Read from
    the stored CSVs as recorded: the freshness check against the models' predictions lives with the
    evaluation (``robustness.evaluation``), which needs torch, and the verdicts' layer must not import it."""
    folders_found = sorted(store.robustness_tables_dir(store.population_dir(results_dir, settings), "").glob("*"))
    finished = [(folder, folders.read_manifest(folder)) for folder in folders_found if folders.is_finished(folder)]
    if not finished:
        return None
    largest = max(finished, key=lambda found: (int(found[0].name.split("-")[1]), found[0].stat().st_mtime))
    return folders.read_tables(largest[0], largest[1].get("inputs"))


def fit_for_population(
    results_dir: str | Path, settings: Settings, options: AnalysisOptions = AnalysisOptions()
) -> SimulatorFit:
    """``fit_simulator`` on a stored population: its predictions, its analysis tables (computed and cached
    when missing, ``run_analysis``) and its robustness tables where evaluated (``stored_robustness``)."""
    _, tables = run_analysis(results_dir, settings, options)
    return fit_simulator(load_population(results_dir, settings), tables, stored_robustness(results_dir, settings))


# ----------------------------------------------------------------------------------------------- scenarios


def _symmetric(effects: dict) -> dict:
    """Per level, as many classes up as down and as far: classes paired by the size of their seen change,
    each pair moved by the pair's mean size, one up and one down (an odd class out stays)."""
    out = {}
    for t, changes in effects.items():
        size = np.abs(np.asarray(changes))
        order = np.argsort(-size)
        moved = np.zeros(len(size))
        for first, second in zip(order[0::2], order[1::2]):
            moved[first], moved[second] = (size[first] + size[second]) / 2, -(size[first] + size[second]) / 2
        out[t] = tuple(float(x) for x in moved)
    return out


def _rises(classes: int) -> tuple[float, ...]:
    """Class changes with more rises than falls: the last class loses ``RISES_FALL``, the others gain it."""
    return (*([RISES_FALL / (classes - 1)] * (classes - 1)), -RISES_FALL)


def scenarios(fit: SimulatorFit) -> dict[str, Scenario]:
    """The scenarios calibrated, from ``fit``: no effect; the seen effects (PIE excess on images the dense
    models get right, as the default population's held-out scores suggest) at scale 1 and ``SCALES``;
    Figure 4's shape; the paper's direction; and three nulls of the wrong kind (``NULLS``)."""
    levels, top = fit.levels, max(fit.levels)
    easy = dict.fromkeys(levels, (0.9, 1.01))  # ranges are low <= p < high; 1.01 takes in the always right

    def seen(scale: float, name: str) -> Scenario:
        return Scenario(
            name,
            f"the seen effects times {scale:g}: class shifts per level, PIE excess on images the dense models get "
            "right, robustness changes per corruption and attack",
            class_effects={t: tuple(scale * x for x in changes) for t, changes in fit.class_effects.items()},
            pie_excess={t: round(scale * e) for t, e in fit.pie_excess.items()},
            pie_hardness=easy,
            corruption_change={name: scale * change for name, (_, _, change) in fit.dense_corruption.items()},
            attack_change={name: scale * change for name, (_, _, change) in fit.dense_attack.items()},
        )

    figure4_top = max(fit.pie_excess.get(top, 0), FIGURE4_MIN_EXCESS)
    paper_mean = float(np.mean(list(PAPER_CORRUPTION_DROP.values())))
    found = {
        "no-effect": Scenario("no-effect", "no effect: sparse models are drawn from the dense distribution"),
        "seen": seen(1.0, "seen"),
        **{f"seen-x{scale:g}": seen(scale, f"seen-x{scale:g}") for scale in SCALES},
        "figure-4": Scenario(
            "figure-4",
            f"Figure 4's shape: PIE excess at every level, growing from {round(figure4_top / 2)} to {figure4_top}, "
            "the images changed at the lowest sparsity drawn among the hardest the dense models get right at all, "
            "at each higher level among easier ones",
            pie_excess={t: round(figure4_top * (1 + j / max(len(levels) - 1, 1)) / 2) for j, t in enumerate(levels)},
            pie_hardness={t: (j / len(levels), (j + 1) / len(levels)) for j, t in enumerate(levels)},
        ),
        "paper": Scenario(
            "paper",
            "the paper's direction: the seen class shifts and PIE excess, but PIEs among images the dense models "
            "mostly get wrong, and robustness losses as large as the paper's Table 5 (its mean loss where a "
            "corruption is not listed, and for attacks)",
            class_effects=fit.class_effects,
            pie_excess=fit.pie_excess,
            pie_hardness=dict.fromkeys(levels, (0.05, 0.4)),
            corruption_change={name: -PAPER_CORRUPTION_DROP.get(name, paper_mean) for name in fit.dense_corruption},
            attack_change=dict.fromkeys(fit.dense_attack, -paper_mean),
        ),
        "rises": Scenario(
            "rises",
            f"more classes gain than lose: at the two most sparse levels one class loses {RISES_FALL:.0%} of its "
            "accuracy and the others share it as gains relative to the model (claims 1 and 1r hold)",
            class_effects={t: _rises(fit.classes) for t in levels[-2:]},
        ),
        "symmetric-classes": Scenario(
            "symmetric-classes",
            "class effects as many and as large up as down (the seen sizes, paired): claim 1 holds, 1r must not",
            class_effects=_symmetric(fit.class_effects),
        ),
        "contested": Scenario(
            "contested",
            f"the seen PIE excess only among contested images (dense chance of being right {CONTESTED[0]}-"
            f"{CONTESTED[1]}), which two dense groups split on too: 2a holds, the pruning-specific 2s must not",
            pie_excess=fit.pie_excess,
            pie_hardness=dict.fromkeys(levels, CONTESTED),
        ),
        "random-pies": Scenario(
            "random-pies",
            "the null of the paper's claim 2: models agree on every image (no chance disagreement) and each level "
            "changes its own random images, so PIE_t is a random set for the models that did not change it",
            pie_excess={t: max(e, FIGURE4_MIN_EXCESS) for t, e in fit.pie_excess.items()},
            pie_hardness=dict.fromkeys(levels, (0.0, 1.01)),
            certain=True,
            pies_per_level=True,
        ),
        "noise-grows": Scenario(
            "noise-grows",
            f"sparse models' class bias grows with sparsity ({1 + NOISE_GROWTH * top:.1f} times the dense one at "
            f"{top:.0%}), with no effect on any class's mean: 1 and 1t must not be reproduced",
            class_bias_growth=NOISE_GROWTH,
        ),
    }
    return found


PLANTED = {
    "1": "seen",
    "1t": "seen",
    "1r": "rises",
    "2a": "seen",
    "2": "paper",
    "2s": "paper",
    "2t": "seen",
    "2l": "figure-4",
    "3a": "paper",
    "3a-all": "paper",
    "3b": "paper",
    "3c": "paper",
}
"""The scenario under which each claim holds: its "reproduced" rate there is the rule's power (target >= 0.8)."""
NULL_FOR_ALL = "no-effect"
NULLS = {
    "1": ("noise-grows",),
    "1t": ("noise-grows",),
    "1r": ("symmetric-classes",),
    "2": ("random-pies",),
    "2s": ("contested",),
}
"""Scenarios under which a claim must not be reproduced beyond ``NULL_FOR_ALL`` (target: rate <= 0.05)."""
HOLDS_WITHOUT_PRUNING = {
    "2": "images two populations disagree on by chance are hard images, so PIEs are harder than random ones "
    "with no pruning effect at all: the paper's claim holds by construction there, and its fair null is "
    "random-pies (whether the hardness is specific to pruning is claim 2s)",
}
"""Claims for which "no effect" is not a null, and why."""


def nulls_of(claim: str) -> tuple[str, ...]:
    """Every scenario under which ``claim`` must not be reproduced."""
    return (*(() if claim in HOLDS_WITHOUT_PRUNING else (NULL_FOR_ALL,)), *NULLS.get(claim, ()))


# ---------------------------------------------------------------------------------------------- simulation


def _images(fit: SimulatorFit, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per test image: label (balanced), the dense chance of being right, its confusable and third class."""
    n, c = fit.n, fit.classes
    labels = np.arange(n) % c
    kind = rng.random(n)
    right = np.where(kind < fit.always_right, 1.0, 0.0)
    uncertain = kind >= fit.always_right + fit.never_right
    right[uncertain] = rng.beta(*fit.uncertain_beta, uncertain.sum())
    alternative = (labels + rng.integers(1, c, n)) % c
    return {"labels": labels, "right": right, "alternative": alternative, "third": _other(rng, labels, alternative, c)}


def _other(rng: np.random.Generator, labels: np.ndarray, alternative: np.ndarray, classes: int) -> np.ndarray:
    """A class drawn uniformly among those neither the label nor the confusable class (same shape)."""
    drawn = (labels + rng.integers(1, classes - 1, alternative.shape)) % classes
    return np.where(drawn == alternative, (labels + classes - 1) % classes, drawn)


def _predict(
    rng: np.random.Generator,
    fit: SimulatorFit,
    images: dict,
    right: np.ndarray,
    k: int,
    bias_sd: float,
    changed: np.ndarray,
) -> np.ndarray:
    """[k, N] predictions: right with chance p + b p (1 - p) (b a model's class bias), else the confusable
    class or another; on ``changed`` images a share ``PIE_SHIFT`` of them goes to the third class."""
    labels = images["labels"]
    bias = rng.normal(0, bias_sd, (k, fit.classes))[:, labels]
    p = np.clip(right + bias * right * (1 - right), 0, 1)
    alternative = np.broadcast_to(images["alternative"], p.shape)
    wrong = np.where(
        rng.random(p.shape) < fit.alternative_share, alternative, _other(rng, labels, alternative, fit.classes)
    )
    predicted = np.where(rng.random(p.shape) < p, labels, wrong)
    moved = changed & (rng.random(p.shape) < PIE_SHIFT)
    return np.where(moved, images["third"], predicted).astype(np.int16)


def _planted_right(right: np.ndarray, labels: np.ndarray, effects) -> np.ndarray:
    """Per-image chances with each class's mean moved by its planted change, on its uncertain images (in
    proportion to p (1 - p))."""
    out = right.copy()
    weight = right * (1 - right)
    for c, change in enumerate(effects):
        members = labels == c
        scale = weight[members].mean()
        if scale > 0:
            out[members] = np.clip(right[members] + change * weight[members] / scale, 0, 1)
    return out


def simulate_population(fit: SimulatorFit, scenario: Scenario, seed: int) -> Population:
    """A population of predictions at the fit's sizes under ``scenario``."""
    rng = np.random.default_rng(seed)
    images = _images(fit, rng)
    if scenario.certain:
        images["right"] = (images["right"] >= 0.5).astype(float)
    none = np.zeros(fit.n, dtype=bool)
    bias = 0.0 if scenario.certain else fit.class_bias
    top1 = {0.0: _predict(rng, fit, images, images["right"], fit.k_dense, bias, none)}
    order = rng.permutation(fit.n)  # the order in which images are taken for PIEs
    for t in fit.levels:
        if scenario.pies_per_level:
            order = rng.permutation(fit.n)
        right = images["right"]
        if t in scenario.class_effects:
            right = _planted_right(right, images["labels"], scenario.class_effects[t])
        changed = none.copy()
        if scenario.pie_excess.get(t, 0) > 0:
            low, high = scenario.pie_hardness[t]
            candidates = order[(images["right"][order] >= low) & (images["right"][order] < high)]
            changed[candidates[: scenario.pie_excess[t]]] = True
        top1[t] = _predict(rng, fit, images, right, fit.k, bias * (1 + scenario.class_bias_growth * t), changed)
    settings = get_profile("fashion-mnist").replace(
        population={"population_size": fit.k, "dense_population_size": fit.k_dense, "sparsities": (0.0, *fit.levels)}
    )
    names = tuple(f"class {c}" for c in range(fit.classes))
    return Population(settings, names, images["labels"], top1, {t: p[:, :, None] for t, p in top1.items()})


def simulate_robustness(fit: SimulatorFit, scenario: Scenario, seed: int) -> dict[str, pd.DataFrame]:
    """Per-model corruption and adversarial tables (the columns the rules read) for the evaluated models:
    the dense floor pool (2K) and every sparse level, each model's value drawn around the dense mean plus
    the scenario's change (in proportion to sparsity), with the sparse models' wider spread. Empty when the
    fit has no robustness."""
    rng = np.random.default_rng([seed, 1])
    top, pool = max(fit.levels), min(fit.k_dense, 2 * fit.k)
    corruption, adversarial = [], []
    for t in (0.0, *fit.levels):
        spread = 1.0 if t == 0 else fit.sparse_spread
        for model in range(pool if t == 0 else fit.k):
            for name, (mean, sd, _) in fit.dense_corruption.items():
                value = mean + scenario.corruption_change.get(name, 0.0) * t / top + spread * sd * rng.standard_normal()
                corruption.append((t, model, name, 1, value))
            for name, (mean, sd, _) in fit.dense_attack.items():
                value = mean + scenario.attack_change.get(name, 0.0) * t / top + spread * sd * rng.standard_normal()
                adversarial.append((t, model, name, 0.0, value, 1.0))
    tables = {}
    if corruption:
        columns = ["sparsity", "model", "corruption", "severity", "relative_top1"]
        tables["corruption_accuracy"] = pd.DataFrame(corruption, columns=columns)
    if adversarial:
        columns = ["sparsity", "model", "attack", "epsilon", "top1", "clean_top1"]
        tables["adversarial_accuracy"] = pd.DataFrame(adversarial, columns=columns)
    return tables


def simulated_verdicts(
    fit: SimulatorFit, scenario: Scenario, seed: int, options: AnalysisOptions | None = None
) -> dict[str, tuple[str, str]]:
    """Claim label -> (verdict, statistic) on one simulated population, through the real analysis and rules."""
    options = options or AnalysisOptions()
    tables = analyze(simulate_population(fit, scenario, seed), options)
    found = judge.analysis_verdicts(tables, options.alpha)
    robustness = simulate_robustness(fit, scenario, seed)
    split = DenseSplit(fit.k_dense, fit.k)
    found += judge.robustness_verdicts(robustness, split, options.alpha, tables["model_accuracies"])[0]
    return {v.label: (v.verdict, v.statistic) for v in found}


def _one(job: tuple[SimulatorFit, Scenario, int]) -> tuple[str, dict[str, tuple[str, str]]]:
    fit, scenario, seed = job
    return scenario.name, simulated_verdicts(fit, scenario, seed)


def calibrate(
    fit: SimulatorFit = DEFAULT_FIT, simulations: int = 200, seed: int = 0, workers: int = 1, progress: bool = True
) -> pd.DataFrame:
    """Rates of every verdict per claim and scenario over ``simulations`` populations each (the same seeds
    in every scenario): one row per (claim, scenario) with the fit's sizes, the share of each verdict
    (``VERDICTS``) and, where a rule could not judge, its reason. Claims are those ``judge`` returns. Seed 0
    tunes the rules; seed 1, run once they are frozen, validates them on fresh populations."""
    planned = scenarios(fit)
    jobs = [(fit, scenario, seed * 100_003 + i) for scenario in planned.values() for i in range(simulations)]
    finished = run_jobs(_one, jobs, workers)
    results = [
        result for _, result in tqdm(finished, total=len(jobs), disable=not progress, desc="simulated populations")
    ]
    long = pd.DataFrame(
        [
            {"scenario": name, "claim": claim, "verdict": verdict, "reason": reason if verdict in UNTESTED else ""}
            for name, found in results
            for claim, (verdict, reason) in found.items()
        ]
    )
    rates = long.groupby(["claim", "scenario"])["verdict"].value_counts(normalize=True).unstack(fill_value=0.0)
    rates = rates.reindex(columns=list(VERDICTS), fill_value=0.0)
    reasons = long[long["reason"] != ""].groupby(["claim", "scenario"])["reason"].first()
    rates = rates.assign(reason=reasons.reindex(rates.index).fillna("")).reset_index()
    rates.columns.name = None
    claim_order = list(dict.fromkeys(long["claim"]))
    rates["claim"] = pd.Categorical(rates["claim"], claim_order, ordered=True)
    rates["scenario"] = pd.Categorical(rates["scenario"], list(planned), ordered=True)
    rates = rates.sort_values(["claim", "scenario"]).astype({"claim": str, "scenario": str})
    sizes = {"simulations": simulations, "seed": seed, "k": fit.k, "k_dense": fit.k_dense, "n": fit.n}
    return rates.assign(**sizes)[["claim", "scenario", *sizes, *VERDICTS, "reason"]].reset_index(drop=True)


# -------------------------------------------------------------------------------------------- the targets


def targets(rates: pd.DataFrame) -> pd.DataFrame:
    """The rates held to a target: each claim's "reproduced" rate under each of its nulls (``nulls_of``, target
    <= 0.05; however often the rule could not judge, since a false "reproduced" counts whenever it comes) and
    under its planted scenario (``PLANTED``, target >= 0.8; where its rule judged it in at least half the
    simulations); columns claim, scenario, kind, reproduced."""
    rows = [(claim, s, "null") for claim in rates["claim"].unique() for s in nulls_of(claim)]
    rows += [(claim, s, "planted") for claim, s in PLANTED.items()]
    wanted = pd.DataFrame(rows, columns=["claim", "scenario", "kind"])
    found = wanted.merge(
        rates.assign(judged=rates[list(UNTESTED)].sum(axis=1) < 0.5)[
            ["claim", "scenario", "judged", claims.REPRODUCED]
        ],
        on=["claim", "scenario"],
    )
    return found[(found["kind"] == "null") | found["judged"]].drop(columns="judged").reset_index(drop=True)


def not_counted(rates: pd.DataFrame) -> dict[str, str]:
    """Claims without a power target, with the reason: those whose rule could not judge them (the rule's own
    reason: "not testable here" at these sizes, or "not evaluated") and those no scenario plants."""
    held = targets(rates)
    planted = set(held.loc[held["kind"] == "planted", "claim"])
    judged = set(rates.loc[rates[list(UNTESTED)].sum(axis=1) < 0.5, "claim"])
    reasons = rates[rates["reason"] != ""].groupby("claim", sort=False)["reason"].first()
    found = {}
    for claim in rates["claim"].unique():
        if claim not in judged:
            found[claim] = f"not judged: {reasons.get(claim, '')}"
        elif claim not in PLANTED:
            found[claim] = "no scenario plants it (its nulls count)"
        elif claim not in planted:
            found[claim] = f"not judged under {PLANTED[claim]}: {reasons.get(claim, '')}"
    return found


def summary(rates: pd.DataFrame) -> dict:
    """The largest "reproduced" rate over every (claim, null scenario) pair, the smallest over ``PLANTED``,
    and the claims not counted, with their reasons (``not_counted``)."""
    held = targets(rates)
    nulls, planted = held[held["kind"] == "null"], held[held["kind"] == "planted"]
    return {
        "null_max": float(nulls[claims.REPRODUCED].max()) if len(nulls) else float("nan"),
        "planted_min": float(planted[claims.REPRODUCED].min()) if len(planted) else float("nan"),
        "not_counted": not_counted(rates),
    }


# ------------------------------------------------------------------------------------------------ the cache


def rules_digest() -> str:
    """A hash of the code the error rates depend on (simulation, analysis, statistics, verdict rules)."""
    return source_digest(__name__, *judge.RULES_CODE, *ANALYSIS_CODE)[:16]


def calibration_folder(
    results_dir: str | Path, fit: SimulatorFit, simulations: int, seed: int = 0
) -> tuple[Path, dict]:
    """Where the rates of ``simulations`` populations per scenario, simulated from ``fit``, are stored, and
    what they are made from (the fit, the sizes, the seed and the rules' code)."""
    inputs = {"fit": fit.key(), "simulations": simulations, "seed": seed, "code": rules_digest()}
    digest = hashlib.sha256(json.dumps(inputs["fit"], sort_keys=True).encode()).hexdigest()[:8]
    key = f"k{fit.k}-dense{fit.k_dense}-n{simulations}-seed{seed}-{digest}"
    return store.calibration_dir(results_dir, key), inputs


def run_calibration(
    results_dir: str | Path,
    fit: SimulatorFit,
    simulations: int = BOOK_SIMULATIONS,
    seed: int = VALIDATION_SEED,
    workers: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """``calibrate``'s rates, cached in the results folder (with the fit as a one-row table) until the fit,
    the sizes or the rules' code change."""
    folder, inputs = calibration_folder(results_dir, fit, simulations, seed)

    def compute() -> dict[str, pd.DataFrame]:
        if progress:
            logger.info("Calibrating the verdict rules on %d simulated populations per scenario ...", simulations)
        return {"rates": calibrate(fit, simulations, seed, workers, progress), "fit": fit.table()}

    return folders.cached_tables(folder, inputs, compute, {"provenance": provenance()})["rates"]


def read_calibration(
    results_dir: str | Path,
    fit: SimulatorFit,
    simulations: int = BOOK_SIMULATIONS,
    seed: int = VALIDATION_SEED,
    profile: str | None = None,
) -> pd.DataFrame:
    """The stored rates for this fit and the current rules; when missing or stale, an error naming the command
    (for ``profile``'s population)."""
    folder, inputs = calibration_folder(results_dir, fit, simulations, seed)
    command = f"pruning-impact calibrate --results {results_dir} --simulations {simulations} --seed {seed}"
    command += f" --profile {profile}" if profile else ""
    return folders.fresh_tables(folder, inputs, "error rates of the verdict rules", command)["rates"]
