"""Verdicts on the paper's claims, each from this population's tables by a rule fixed in code.

Every rule has the same shape. A claim is *reproduced* when its calibrated test rejects "no effect"
at ``alpha`` after Holm's correction over the levels (or corruption families) it looks at; *not
reproduced* only with evidence of absence: a significant effect the other way, or an equivalence test
(two one-sided tests) showing the effect smaller than a stated margin; *mixed* when both directions are
significant in different places; *inconclusive* otherwise. Each rule's error rates, with no effect
and with planted effects, are measured by ``simulation.calibrate`` (``benchmarks/verdict_calibration.py``).

The null distributions come from the dense population itself (``analysis``): splits of the first 2K
dense models give the class-count and PIE-count floors, and the held-out dense models score PIE_t and
the floor sets alike, so no set is scored by a model that chose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from . import paper
from .robustness_tables import natural_relative
from .stats import empirical_p, holm

REPRODUCED, NOT_REPRODUCED, MIXED, INCONCLUSIVE, NOT_EVALUATED = (
    "reproduced",
    "not reproduced",
    "mixed",
    "inconclusive",
    "not evaluated",
)

# Margins of the equivalence tests: effects smaller than these count as no effect.
CLASS_MARGIN_SPARSITY = float(paper.IMAGENET_CLASS_SUMMARY["sparsity"].min())
CLASS_MARGIN = 0.5 * float(
    paper.IMAGENET_CLASS_SUMMARY.loc[
        paper.IMAGENET_CLASS_SUMMARY["sparsity"] == CLASS_MARGIN_SPARSITY, ["largest_increase", "largest_decrease"]
    ]
    .abs()
    .min(axis=1)
    .iloc[0]
)
"""Half the smallest largest-class change the paper reports (ImageNet, 10% sparsity), in class accuracy."""
PIE_MARGIN = 0.05
"""Five points of top-1: held-out accuracy on PIE_t within this of the floor sets' counts as no harder."""
_TABLE5 = paper.IMAGENET_C_TABLE5.set_index(["corruption", "sparsity"])["relative_top1"].unstack()
ROBUSTNESS_MARGIN = 0.5 * float((_TABLE5[0.0] - _TABLE5[0.9]).mean())
"""Half the paper's mean loss of relative top-1 from dense to 90% sparse over Table 5's corruptions."""

FAMILIES = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"),
    "blur": ("defocus_blur", "gaussian_blur", "glass_blur", "motion_blur", "zoom_blur"),
    "weather": ("snow", "frost", "fog", "brightness", "spatter"),
    "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression", "saturate"),
}
"""Corruption families as Hendrycks & Dietterich group them (the extra ones where a set has them)."""


@dataclass(frozen=True)
class Verdict:
    """One claim judged: its label, the claim paraphrased, the verdict, the statistic behind it, the
    population sizes it used and the level(s) it rests on."""

    label: str
    claim: str
    verdict: str
    statistic: str
    sizes: str = ""
    rests_on: str = ""


CLAIMS = {
    "1": "Pruning does not hit all classes alike: some classes lose or gain accuracy relative to the model's average.",
    "1t": "The class-level impact grows with sparsity.",
    "1r": "More classes gain than lose in relative terms.",
    "2a": "Pruning changes the population's label on more images than chance (PIE counts above the noise floor).",
    "2": "PIEs are harder than images on which two dense populations merely disagree, for models that did not "
    "choose them.",
    "2t": "The number of PIEs grows with sparsity.",
    "2l": "PIEs found at low sparsity are the hardest.",
    "3a": "Pruned models are less robust to image corruptions (the corruptions of the paper's Table 5).",
    "3a-all": "Pruned models are less robust to image corruptions (every corruption evaluated here).",
    "3b": "Pruned models are less robust to adversarial examples.",
}


def _fmt_t(t: float) -> str:
    return f"{100 * t:.0f}%"


def _levels_text(levels) -> str:
    return ", ".join(_fmt_t(t) for t in levels) if len(levels) else "none"


# ------------------------------------------------------------------------------------------- class level


def class_level_table(class_summary: pd.DataFrame, aa_calibration: pd.DataFrame) -> pd.DataFrame:
    """Per sparsity: classes significant in the paper's uncorrected test, the dense-vs-dense (A/A)
    counts at the same sizes, and the p-value of the count against them, Holm-adjusted over levels."""
    observed = class_summary[class_summary["correction"] == "none"].sort_values("sparsity")
    chance = aa_calibration.loc[aa_calibration["correction"] == "none", "n_significant"].to_numpy(dtype=float)
    table = pd.DataFrame(
        {
            "sparsity": observed["sparsity"].to_numpy(),
            "k_dense": observed["k_dense"].to_numpy(),
            "k_sparse": observed["k_sparse"].to_numpy(),
            "n_significant": observed["n_significant"].to_numpy(),
            "aa_mean": chance.mean() if len(chance) else np.nan,
            "aa_high": np.percentile(chance, 95) if len(chance) else np.nan,
        }
    )
    table["p_value"] = [empirical_p(n, chance, "greater") for n in table["n_significant"]]
    table["p_holm"] = holm(table["p_value"].to_numpy())
    return table


def class_equivalence(class_tests: pd.DataFrame, margin: float = CLASS_MARGIN) -> pd.DataFrame:
    """Per sparsity: the largest two-one-sided-tests p-value over classes that the normalized recall
    difference lies within +-margin (all classes equivalent when it is <= alpha)."""
    tests = class_tests[class_tests["correction"] == "none"]
    rows = []
    for sparsity, level in tests.groupby("sparsity", sort=True):
        diff, se, df = (
            level[c].to_numpy(dtype=float) for c in ("normalized_recall_difference", "standard_error", "df")
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            lower = scipy_stats.t.sf((diff + margin) / se, df)
            upper = scipy_stats.t.cdf((diff - margin) / se, df)
        p = np.fmax(lower, upper)
        # no spread on either side (every model equally right on the class): the difference is exact
        p = np.where(se == 0, np.where(np.abs(diff) < margin, 0.0, 1.0), p)
        rows.append({"sparsity": sparsity, "p_equivalent": float(np.nanmax(p)) if np.isfinite(p).all() else np.nan})
    return pd.DataFrame(rows)


def class_finding(
    class_summary: pd.DataFrame, class_tests: pd.DataFrame, aa_calibration: pd.DataFrame, alpha: float = 0.05
) -> Verdict:
    """Claim 1. Reproduced when, at some level, more classes are significant than in the dense-vs-dense
    splits (Holm over levels); not reproduced when every class at every level is shown equivalent within
    ``CLASS_MARGIN``; inconclusive otherwise."""
    if aa_calibration.empty or class_summary.empty:
        return Verdict("1", CLAIMS["1"], INCONCLUSIVE, "too few dense models for the dense-vs-dense calibration")
    levels = class_level_table(class_summary, aa_calibration)
    hit = levels[levels["p_holm"] <= alpha]
    equivalence = class_equivalence(class_tests)
    sizes = f"K = {int(levels['k_dense'].iloc[0])} dense vs {int(levels['k_sparse'].iloc[0])} sparse per level"
    best = levels.loc[levels["p_holm"].idxmin()]
    text = (
        f"{int(best['n_significant'])} significant classes at {_fmt_t(best['sparsity'])} against "
        f"{best['aa_mean']:.2f} on average between two dense groups (Holm-adjusted p = {best['p_holm']:.3g}); "
        f"levels above chance: {_levels_text(hit['sparsity'])}"
    )
    if len(hit):
        return Verdict("1", CLAIMS["1"], REPRODUCED, text, sizes, _levels_text(hit["sparsity"]))
    if len(equivalence) and (equivalence["p_equivalent"] <= alpha).all():
        text += f"; every class within +-{100 * CLASS_MARGIN:.2f} points at every level (equivalence test)"
        return Verdict("1", CLAIMS["1"], NOT_REPRODUCED, text, sizes, "all levels")
    return Verdict("1", CLAIMS["1"], INCONCLUSIVE, text, sizes, "all levels")


def trend_p(sparsities, values) -> tuple[float, float]:
    """One-sided p-values (increasing, decreasing) of the correlation between sparsity and a per-level
    statistic, over every ordering of the levels: exact when, with no effect, the levels' statistics are
    exchangeable (each level compares an independent population with the same reference)."""
    t, x = np.asarray(sparsities, dtype=float), np.asarray(values, dtype=float)
    if len(t) < 3 or np.isnan(x).any():
        return float("nan"), float("nan")
    observed = float(np.dot(t - t.mean(), x))
    null = np.array([np.dot(t - t.mean(), x[list(order)]) for order in permutations(range(len(x)))])
    tolerance = 1e-12 * max(1.0, abs(observed))
    return float(np.mean(null >= observed - tolerance)), float(np.mean(null <= observed + tolerance))


def _trend_verdict(label: str, sparsities, values, what: str, alpha: float, top_p: float, sizes: str = "") -> Verdict:
    """Reproduced when the statistic grows with sparsity (``trend_p`` at ``alpha``) and the most sparse
    level's own effect is significant (``top_p``, Holm-adjusted): growth presupposes an effect. Not
    reproduced when it significantly declines; inconclusive otherwise."""
    up, down = trend_p(sparsities, values)
    if np.isnan(up):
        return Verdict(label, CLAIMS[label], INCONCLUSIVE, "fewer than three sparse levels", sizes)
    shown = ", ".join(f"{_fmt_t(t)}: {v:.3g}" for t, v in zip(sparsities, values, strict=True))
    text = (
        f"{what} by level ({shown}); permutation p = {up:.3g} for growth, {down:.3g} for decline over "
        f"the orderings of the levels; effect at {_fmt_t(max(sparsities))}: p = {top_p:.3g}"
    )
    rests = _levels_text(sparsities)
    if up <= alpha and top_p <= alpha:
        return Verdict(label, CLAIMS[label], REPRODUCED, text, sizes, rests)
    if down <= alpha:
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    return Verdict(label, CLAIMS[label], INCONCLUSIVE, text, sizes, rests)


def class_trend(class_tests: pd.DataFrame, class_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 1t: the mean absolute normalized recall difference over classes grows with sparsity (and
    the most sparse level has more significant classes than chance; see ``_trend_verdict``)."""
    tests = class_tests[class_tests["correction"] == "none"]
    per_level = tests.groupby("sparsity")["normalized_recall_difference"].apply(lambda d: d.abs().mean())
    top_p = float(class_levels.loc[class_levels["sparsity"].idxmax(), "p_holm"]) if len(class_levels) else np.nan
    sizes = (
        f"K = {int(class_levels['k_dense'].iloc[0])} dense vs {int(class_levels['k_sparse'].iloc[0])} sparse per level"
        if len(class_levels)
        else ""
    )
    return _trend_verdict(
        "1t", per_level.index.to_numpy(), per_level.to_numpy(), "mean |normalized difference|", alpha, top_p, sizes
    )


def rise_vs_fall(class_summary: pd.DataFrame, aa_calibration: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 1r, as the paper's Table 1 counts it: at the highest sparsity, more of the significant classes
    rise than fall (uncorrected test). The surplus (increases minus decreases) is judged against the same
    surplus in the dense-vs-dense splits; not reproduced when significantly more fall."""
    observed = class_summary[class_summary["correction"] == "none"]
    chance = aa_calibration[aa_calibration["correction"] == "none"]
    if observed.empty or chance.empty or "n_increase" not in chance:
        return Verdict("1r", CLAIMS["1r"], INCONCLUSIVE, "no class tests or no dense-vs-dense calibration")
    top = observed.loc[observed["sparsity"].idxmax()]
    surplus = int(top["n_increase"]) - int(top["n_decrease"])
    null = (2 * chance["n_increase"] - chance["n_significant"]).to_numpy(dtype=float)
    p_up, p_down = empirical_p(surplus, null, "greater"), empirical_p(surplus, null, "less")
    text = (
        f"{int(top['n_increase'])} significant classes rise and {int(top['n_decrease'])} fall at "
        f"{_fmt_t(top['sparsity'])}; against the dense-vs-dense splits p = {p_up:.3g} for more rising, "
        f"{p_down:.3g} for more falling"
    )
    sizes = f"K = {int(top['k_dense'])} dense vs {int(top['k_sparse'])} sparse; {len(null)} splits"
    rests = _fmt_t(top["sparsity"])
    if surplus > 0 and p_up <= alpha:
        return Verdict("1r", CLAIMS["1r"], REPRODUCED, text, sizes, rests)
    if surplus < 0 and p_down <= alpha:
        return Verdict("1r", CLAIMS["1r"], NOT_REPRODUCED, text, sizes, rests)
    return Verdict("1r", CLAIMS["1r"], INCONCLUSIVE, text, sizes, rests)


# ---------------------------------------------------------------------------------------------- PIEs


MIN_NULL_DRAWS = 20
"""Fewest distinct values a null distribution needs before its p-values are used (1 / 0.05)."""


def _distinct_enough(draws: np.ndarray) -> np.ndarray:
    """The draws of a null distribution, or none when they take fewer than ``MIN_NULL_DRAWS`` distinct
    values (tiny populations repeat the same few splits; their p-values would be meaningless)."""
    finite = draws[np.isfinite(draws)]
    return draws if len(np.unique(finite)) >= MIN_NULL_DRAWS else np.array([])


def pie_level_table(
    pie_counts: pd.DataFrame, noise_floor: pd.DataFrame, evaluation: pd.DataFrame, permutations: pd.DataFrame
) -> pd.DataFrame:
    """Per sparsity: the PIE count against its permutation distribution (reference and sparse models pooled
    and re-split, ``pie.permutation_floor``; the dense-vs-dense floor beside it), and the held-out dense
    models' top-1 on PIE_t against the dense-vs-dense floor sets, which they score too (random samples of
    its size beside it). One-sided p-values from those distributions, Holm-adjusted over levels.

    "Harder" is judged against the dense-vs-dense sets (the paper's claim is about those). "Easier" and
    "equivalent", the ways to "not reproduced", must hold against both the dense-vs-dense sets and the
    permuted sets (the larger p-value), because splits of one fixed dense pool are narrower than fresh
    populations. A null with fewer than ``MIN_NULL_DRAWS`` distinct values gives no p-value."""
    counts = pie_counts.sort_values("sparsity")
    floor_n = noise_floor["n_pie"].to_numpy(dtype=float)
    floor_held = noise_floor["held_out_top1"].to_numpy(dtype=float) if "held_out_top1" in noise_floor else np.array([])
    pie_rows = evaluation[(evaluation["subset"] == "pie") & (evaluation["scorer"] == "dense held-out")]
    random_rows = evaluation[(evaluation["subset"] == "random") & (evaluation["scorer"] == "dense held-out")]
    held_on_pie = pie_rows.set_index("pie_sparsity")["top1_mean"]
    rows = []
    for _, row in counts.iterrows():
        t = row["sparsity"]
        x = float(held_on_pie.get(t, np.nan))
        null = permutations[permutations["sparsity"] == t]
        null_n = _distinct_enough(null["n_pie"].to_numpy(dtype=float))
        null_held = _distinct_enough(null["held_out_top1"].to_numpy(dtype=float))
        floor = _distinct_enough(floor_held)
        random = random_rows.loc[random_rows["pie_sparsity"] == t, "top1_mean"]
        below_random = pie_rows.loc[pie_rows["pie_sparsity"] == t, "p_below_random"]
        rows.append(
            {
                "sparsity": t,
                "k_dense": int(row["k_dense"]),
                "k_sparse": int(row["k_sparse"]),
                "n_pie": int(row["n_pie"]),
                "floor_mean": floor_n.mean() if len(floor_n) else np.nan,
                "floor_high": np.percentile(floor_n, 97.5) if len(floor_n) else np.nan,
                "permuted_mean": null_n.mean() if len(null_n) else np.nan,
                "p_count": empirical_p(row["n_pie"], null_n, "greater"),
                "held_out_k": int(pie_rows["k"].iloc[0]) if len(pie_rows) else 0,
                "held_out_on_pie": x,
                "held_out_on_random": float(random.iloc[0]) if len(random) else np.nan,
                "p_below_random": float(below_random.iloc[0]) if len(below_random) else np.nan,
                "held_out_on_floor": np.nanmean(floor_held) if np.isfinite(floor_held).any() else np.nan,
                "held_out_on_permuted": np.nanmean(null_held) if np.isfinite(null_held).any() else np.nan,
                "p_harder": empirical_p(x, floor, "less"),
                "p_easier": max(empirical_p(x, floor, "greater"), empirical_p(x, null_held, "greater")),
                "p_equivalent": max(
                    empirical_p(x, floor - PIE_MARGIN, "greater"),
                    empirical_p(x, floor + PIE_MARGIN, "less"),
                    empirical_p(x, null_held - PIE_MARGIN, "greater"),
                    empirical_p(x, null_held + PIE_MARGIN, "less"),
                ),
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["p_count_holm"] = holm(table["p_count"].to_numpy())
        # finding 2 at a level needs both an excess of PIEs and PIEs harder than chance sets
        table["p_finding_holm"] = holm(np.maximum(table["p_count"], table["p_harder"]).to_numpy())
        table["p_easier_holm"] = holm(table["p_easier"].to_numpy())
    return table


def pie_count_finding(pie_levels: pd.DataFrame, pie_counts: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 2a. Reproduced when the PIE count exceeds its permutation distribution at some level (Holm
    over levels); never "not reproduced" (a count at the floor is not evidence that pruning changes nothing)."""
    if pie_levels.empty or pie_levels["p_count"].isna().all():
        return Verdict("2a", CLAIMS["2a"], INCONCLUSIVE, "no PIE counts or no permutation floor")
    hit = pie_levels[pie_levels["p_count_holm"] <= alpha]
    shown = ", ".join(f"{_fmt_t(r.sparsity)}: {r.n_pie} (p = {r.p_count_holm:.2g})" for r in pie_levels.itertuples())
    text = (
        f"PIEs per level, with Holm-adjusted permutation p-values: {shown}; two dense groups disagree on "
        f"{pie_levels['floor_mean'].iloc[0]:.1f} images on average"
    )
    sizes = f"K = {int(pie_counts['k_dense'].iloc[0])} dense vs {int(pie_counts['k_sparse'].iloc[0])} sparse"
    verdict = REPRODUCED if len(hit) else INCONCLUSIVE
    return Verdict(
        "2a", CLAIMS["2a"], verdict, text, sizes, _levels_text(hit["sparsity"]) if len(hit) else "all levels"
    )


def pie_finding(pie_levels: pd.DataFrame, pie_counts: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 2, scored by held-out dense models only. Reproduced when at some level PIE_t both exceeds the
    permuted counts and is harder than the dense-vs-dense floor sets (Holm over levels); not reproduced when
    PIE_t is significantly easier at some level and harder at none, or within ``PIE_MARGIN`` of the floor
    sets at every level; mixed when both directions occur; inconclusive otherwise."""
    if pie_levels.empty:
        return Verdict("2", CLAIMS["2"], INCONCLUSIVE, "no PIE was found")
    if pie_levels["held_out_on_pie"].isna().all() or pie_levels["p_harder"].isna().all():
        return Verdict("2", CLAIMS["2"], INCONCLUSIVE, "no held-out dense models: the dense population needs 3K models")
    levels = pie_levels
    harder = levels[levels["p_finding_holm"] <= alpha]
    easier = levels[levels["p_easier_holm"] <= alpha]
    shown = ", ".join(f"{_fmt_t(r.sparsity)}: {100 * r.held_out_on_pie:.1f}%" for r in levels.itertuples())
    text = (
        f"held-out dense top-1 on PIE_t ({shown}) against {100 * levels['held_out_on_floor'].iloc[0]:.1f}% on "
        f"dense-vs-dense disagreement sets and {100 * levels['held_out_on_random'].mean():.1f}% on random samples "
        "(mean over levels); "
        f"harder at {_levels_text(harder['sparsity'])}, easier at {_levels_text(easier['sparsity'])}"
    )
    sizes = (
        f"PIEs chosen by {int(pie_counts['k_dense'].iloc[0])} dense vs {int(pie_counts['k_sparse'].iloc[0])} sparse "
        f"models; scored by {int(levels['held_out_k'].iloc[0])} held-out dense"
    )
    if len(harder) and len(easier):
        both = sorted({*harder["sparsity"], *easier["sparsity"]})
        return Verdict("2", CLAIMS["2"], MIXED, text, sizes, _levels_text(both))
    if len(harder):
        return Verdict("2", CLAIMS["2"], REPRODUCED, text, sizes, _levels_text(harder["sparsity"]))
    if len(easier):
        return Verdict("2", CLAIMS["2"], NOT_REPRODUCED, text, sizes, _levels_text(easier["sparsity"]))
    if (levels["p_equivalent"] <= alpha).all():
        text += f"; within +-{100 * PIE_MARGIN:.0f} points of the floor sets at every level (equivalence test)"
        return Verdict("2", CLAIMS["2"], NOT_REPRODUCED, text, sizes, "all levels")
    return Verdict("2", CLAIMS["2"], INCONCLUSIVE, text, sizes, "all levels")


def pie_trend(pie_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 2t: the PIE count grows with sparsity (and the most sparse level has more PIEs than chance;
    see ``_trend_verdict``)."""
    levels = pie_levels.sort_values("sparsity")
    top_p = float(levels["p_count_holm"].iloc[-1]) if len(levels) else np.nan
    sizes = (
        f"K = {int(levels['k_dense'].iloc[0])} dense vs {int(levels['k_sparse'].iloc[0])} sparse per level"
        if len(levels)
        else ""
    )
    return _trend_verdict("2t", levels["sparsity"].to_numpy(), levels["n_pie"].to_numpy(), "PIEs", alpha, top_p, sizes)


def low_sparsity_hardest(
    evaluation: pd.DataFrame, low_vs_high: pd.DataFrame, pie_levels: pd.DataFrame, alpha: float = 0.05
) -> Verdict:
    """Claim 2l: held-out dense models score lower on PIE at the lowest sparsity than at the highest; the
    difference is judged against its permutation distribution (the two sparse populations pooled and
    re-split, ``pie.permuted_hardness_difference``). Reproduced only where both levels have more PIEs
    than chance (the comparison presupposes PIEs at both ends)."""
    rows = evaluation[(evaluation["subset"] == "pie") & (evaluation["scorer"] == "dense held-out")]
    null = low_vs_high["difference"].to_numpy(dtype=float) if len(low_vs_high) else np.array([])
    if rows["pie_sparsity"].nunique() < 2 or not np.isfinite(null).any():
        return Verdict("2l", CLAIMS["2l"], INCONCLUSIVE, "needs two sparse levels and held-out dense models")
    by_t = rows.set_index("pie_sparsity")["top1_mean"].sort_index()
    low, high = by_t.index[0], by_t.index[-1]
    difference = by_t.iloc[0] - by_t.iloc[-1]
    p_low, p_high = empirical_p(difference, null, "less"), empirical_p(difference, null, "greater")
    text = (
        f"held-out dense top-1 on PIE_t: {100 * by_t.iloc[0]:.1f}% at {_fmt_t(low)}, {100 * by_t.iloc[-1]:.1f}% at "
        f"{_fmt_t(high)} (permutation p = {p_low:.3g}, {np.isfinite(null).sum()} re-splits)"
    )
    rests = f"{_fmt_t(low)} vs {_fmt_t(high)}"
    if (low, high) != (pie_levels["sparsity"].min(), pie_levels["sparsity"].max()):
        return Verdict("2l", CLAIMS["2l"], INCONCLUSIVE, "no PIE at the lowest or the highest sparsity", "", rests)
    counted = pie_levels.set_index("sparsity")["p_count_holm"]
    low_p, top_p = float(counted.get(low, np.nan)), float(counted.get(high, np.nan))
    text += f"; more PIEs than chance at {_fmt_t(low)}: p = {low_p:.3g}, at {_fmt_t(high)}: p = {top_p:.3g}"
    sizes = f"scored by {int(rows['k'].iloc[0])} held-out dense"
    # the claim is about PIEs at both ends: a noise-floor set at either end makes the comparison vacuous
    if p_low <= alpha and low_p <= alpha and top_p <= alpha:
        return Verdict("2l", CLAIMS["2l"], REPRODUCED, text, sizes, rests)
    if p_high <= alpha:
        return Verdict("2l", CLAIMS["2l"], NOT_REPRODUCED, text, sizes, rests)
    return Verdict("2l", CLAIMS["2l"], INCONCLUSIVE, text, sizes, rests)


# ----------------------------------------------------------------------------------------- robustness


def group_tests(values: pd.DataFrame, dense_models, sparse_level: float, alpha: float = 0.05) -> pd.DataFrame:
    """Welch's t-tests of per-model values (columns sparsity, model, hypothesis, value) between the dense
    models ``dense_models`` and the models at ``sparse_level``, one row per hypothesis: the two means, the
    two-sided p-value, its Holm adjustment over the hypotheses, and the one-sided equivalence p-value
    within +-``ROBUSTNESS_MARGIN``."""
    dense_models = set(dense_models)
    rows = []
    for name, part in values.groupby("hypothesis", sort=False):
        dense = part[(part["sparsity"] == 0) & part["model"].isin(dense_models)]["value"].to_numpy(dtype=float)
        sparse = part[part["sparsity"] == sparse_level]["value"].to_numpy(dtype=float)
        row = {"hypothesis": name, "k_dense": len(dense), "k_sparse": len(sparse)}
        row["dense_mean"], row["sparse_mean"] = (
            float(dense.mean()) if len(dense) else np.nan,
            float(sparse.mean()) if len(sparse) else np.nan,
        )
        if len(dense) >= 2 and len(sparse) >= 2 and (dense.var() > 0 or sparse.var() > 0):
            row["p_value"] = float(scipy_stats.ttest_ind(sparse, dense, equal_var=False).pvalue)
            se2 = sparse.var(ddof=1) / len(sparse) + dense.var(ddof=1) / len(dense)
            df = se2**2 / (
                (sparse.var(ddof=1) / len(sparse)) ** 2 / (len(sparse) - 1)
                + (dense.var(ddof=1) / len(dense)) ** 2 / (len(dense) - 1)
            )
            d, se = row["sparse_mean"] - row["dense_mean"], np.sqrt(se2)
            row["p_equivalent"] = float(
                max(
                    scipy_stats.t.sf((d + ROBUSTNESS_MARGIN) / se, df),
                    scipy_stats.t.cdf((d - ROBUSTNESS_MARGIN) / se, df),
                )
            )
        else:
            row["p_value"] = row["p_equivalent"] = np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy()) if len(table) else []
    table["direction"] = np.where(
        table["p_holm"] <= alpha, np.where(table["sparse_mean"] < table["dense_mean"], "less robust", "more robust"), ""
    )
    return table


def _robustness_verdict(label: str, tests: pd.DataFrame, alpha: float, what: str, sparse_level: float) -> Verdict:
    """Reproduced when some hypothesis is significantly worse for the sparse models after Holm, mixed when
    others are significantly better, not reproduced when only better or when the primary hypothesis (the
    first row: the mean) is equivalent within the margin; inconclusive otherwise."""
    worse, better = tests[tests["direction"] == "less robust"], tests[tests["direction"] == "more robust"]
    primary = tests.iloc[0]
    text = (
        f"relative top-1 {what}: dense {primary['dense_mean']:.3f}, {_fmt_t(sparse_level)} sparse "
        f"{primary['sparse_mean']:.3f} (Holm-adjusted Welch p = {primary['p_holm']:.2g}); less robust: "
        f"{', '.join(worse['hypothesis']) or 'none'}; more robust: {', '.join(better['hypothesis']) or 'none'} "
        f"(Holm over {len(tests)} tests)"
    )
    sizes = f"K = {int(primary['k_dense'])} dense vs {int(primary['k_sparse'])} sparse"
    rests = _fmt_t(sparse_level)
    if len(worse) and len(better):
        return Verdict(label, CLAIMS[label], MIXED, text, sizes, rests)
    if len(worse):
        return Verdict(label, CLAIMS[label], REPRODUCED, text, sizes, rests)
    if len(better):
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    if (tests["p_equivalent"] <= alpha).all():
        text += f"; every tested mean is within +-{ROBUSTNESS_MARGIN:.3f} of the dense models' (equivalence tests)"
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    return Verdict(label, CLAIMS[label], INCONCLUSIVE, text, sizes, rests)


def corruption_values(corruption: pd.DataFrame, corruptions=None) -> pd.DataFrame:
    """Per-model hypotheses of claim 3a: relative top-1 averaged over all chosen corruptions ("mean"),
    over each family present, and per corruption (sparsity, model, hypothesis, value, kind)."""
    table = corruption if corruptions is None else corruption[corruption["corruption"].isin(list(corruptions))]
    per = table.groupby(["sparsity", "model", "corruption"], as_index=False)["relative_top1"].mean()
    frames = [per.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean().assign(hypothesis="mean")]
    for family, names in FAMILIES.items():
        part = per[per["corruption"].isin(names)]
        if len(part):
            frames.append(
                part.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean().assign(hypothesis=family)
            )
    return pd.concat(frames, ignore_index=True).rename(columns={"relative_top1": "value"})


def corruption_finding(
    corruption: pd.DataFrame | None,
    dense_models,
    alpha: float = 0.05,
    corruptions=None,
    label: str = "3a",
    what: str = "under corruption",
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3a on the given corruptions (all by default), at the highest sparsity against the dense
    reference models: the mean over corruptions and each family, Holm over them (see
    ``_robustness_verdict``). Returns the verdict and the per-hypothesis tests, with the per-corruption
    tests (Holm over corruptions) appended for display."""
    if corruption is None or corruption.empty:
        verdict = Verdict(label, CLAIMS[label], NOT_EVALUATED, "no robustness tables for this population yet")
        return verdict, pd.DataFrame()
    top = float(corruption["sparsity"].max())
    tests = group_tests(corruption_values(corruption, corruptions), dense_models, top, alpha)
    table = corruption if corruptions is None else corruption[corruption["corruption"].isin(list(corruptions))]
    each = table.groupby(["sparsity", "model", "corruption"], as_index=False)["relative_top1"].mean()
    each = each.rename(columns={"corruption": "hypothesis", "relative_top1": "value"})
    per_corruption = group_tests(each, dense_models, top, alpha).assign(kind="corruption")
    verdict = _robustness_verdict(label, tests, alpha, what, top)
    n_worse = int((per_corruption["direction"] == "less robust").sum())
    n_better = int((per_corruption["direction"] == "more robust").sum())
    verdict = Verdict(
        verdict.label,
        verdict.claim,
        verdict.verdict,
        verdict.statistic + f"; per corruption: {n_worse} of {len(per_corruption)} less robust, {n_better} more",
        verdict.sizes,
        verdict.rests_on,
    )
    return verdict, pd.concat([tests.assign(kind="summary"), per_corruption], ignore_index=True)


def adversarial_values(adversarial: pd.DataFrame, natural: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-model hypotheses of claim 3b: top-1 under attack relative to clean top-1, averaged over attacks
    and radii ("mean") and per attack; plus the natural adversarial set (ImageNet-A) where present
    (``natural``: ``robustness_tables.natural_relative``)."""
    table = adversarial.assign(relative=adversarial["top1"] / adversarial["clean_top1"])
    frames = [table.groupby(["sparsity", "model"], as_index=False)["relative"].mean().assign(hypothesis="mean")]
    for attack, part in table.groupby("attack", sort=False):
        frames.append(part.groupby(["sparsity", "model"], as_index=False)["relative"].mean().assign(hypothesis=attack))
    values = pd.concat(frames, ignore_index=True).rename(columns={"relative": "value"})
    if natural is not None and len(natural):
        extra = natural.assign(value=natural["relative_top1"], hypothesis=natural["set"])
        values = pd.concat([values, extra[["sparsity", "model", "hypothesis", "value"]]], ignore_index=True)
    return values


def adversarial_finding(
    adversarial: pd.DataFrame | None, dense_models, alpha: float = 0.05, natural: pd.DataFrame | None = None
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3b: relative top-1 under attack, at the highest sparsity against the dense reference models."""
    if adversarial is None or adversarial.empty:
        return Verdict(
            "3b", CLAIMS["3b"], NOT_EVALUATED, "no adversarial tables for this population yet"
        ), pd.DataFrame()
    top = float(adversarial["sparsity"].max())
    tests = group_tests(adversarial_values(adversarial, natural), dense_models, top, alpha)
    return _robustness_verdict("3b", tests, alpha, "under attack", top), tests


def robustness_calibration(
    corruption: pd.DataFrame, floor_pool_size: int, reference_size: int, seed: int = 0, alpha: float = 0.05
) -> dict:
    """``robustness_aa_rate`` of the corruption rule on the evaluated dense models (the floor pool), split
    into groups of the reference's size."""
    dense = corruption_values(corruption[corruption["sparsity"] == 0])
    return robustness_aa_rate(dense, range(floor_pool_size), reference_size, seed=seed, alpha=alpha)


def robustness_aa_rate(
    values: pd.DataFrame, pool_models, group_size: int, repeats: int = 200, seed: int = 0, alpha: float = 0.05
) -> dict:
    """The robustness rule applied to dense-vs-dense splits: ``repeats`` random splits of the dense models
    ``pool_models`` into two groups of ``group_size``, one playing the sparse side; the share of splits the
    rule calls reproduced, less robust anywhere, or more robust anywhere (all near zero when calibrated)."""
    pool = np.asarray(sorted(pool_models))
    dense = values[values["sparsity"] == 0]
    if len(pool) < 2 * group_size or group_size < 2:
        return {"splits": 0, "reproduced": np.nan, "any_difference": np.nan}
    rng = np.random.default_rng(seed)
    reproduced = differs = 0
    for _ in range(repeats):
        order = rng.permutation(pool)
        a, b = order[:group_size], order[group_size : 2 * group_size]
        fake = dense[dense["model"].isin(b)].assign(sparsity=1.0)
        tests = group_tests(pd.concat([dense[dense["model"].isin(a)], fake]), a, 1.0, alpha)
        worse = (tests["direction"] == "less robust").any()
        reproduced += bool(worse and not (tests["direction"] == "more robust").any())
        differs += bool((tests["direction"] != "").any())
    return {"splits": repeats, "reproduced": reproduced / repeats, "any_difference": differs / repeats}


# --------------------------------------------------------------------------------------------- all


def analysis_verdicts(tables: dict[str, pd.DataFrame], alpha: float = 0.05) -> list[Verdict]:
    """Every verdict that the analysis tables support (claims 1, 1t, 1r, 2a, 2, 2t, 2l)."""
    levels = pie_levels(tables)
    class_levels = class_level_table(tables["class_summary"], tables["aa_calibration"])
    return [
        class_finding(tables["class_summary"], tables["class_tests"], tables["aa_calibration"], alpha),
        class_trend(tables["class_tests"], class_levels, alpha),
        rise_vs_fall(tables["class_summary"], tables["aa_calibration"], alpha),
        pie_count_finding(levels, tables["pie_counts"], alpha),
        pie_finding(levels, tables["pie_counts"], alpha),
        pie_trend(levels, alpha),
        low_sparsity_hardest(tables["pie_evaluation"], tables["pie_low_vs_high"], levels, alpha),
    ]


def pie_levels(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``pie_level_table`` from the analysis tables."""
    return pie_level_table(
        tables["pie_counts"], tables["pie_noise_floor"], tables["pie_evaluation"], tables["pie_permutations"]
    )


TABLE5_CORRUPTIONS = tuple(dict.fromkeys(paper.IMAGENET_C_TABLE5["corruption"]))


def natural_relative_of(tables: dict[str, pd.DataFrame], model_accuracies: pd.DataFrame | None) -> pd.DataFrame:
    """Each model's accuracy on the natural distribution-shift set relative to its clean test accuracy (the
    analysis's ``model_accuracies``); empty without such a set or without clean accuracies."""
    natural = tables.get("natural_accuracy")
    if natural is None or natural.empty or model_accuracies is None:
        return pd.DataFrame(columns=["sparsity", "model", "set", "relative_top1", "relative_top5"])
    clean = model_accuracies.rename(columns={"top1": "clean_top1", "top5": "clean_top5"})
    return natural_relative(natural, clean)


def robustness_verdicts(
    tables: dict[str, pd.DataFrame],
    reference_size: int,
    alpha: float = 0.05,
    model_accuracies: pd.DataFrame | None = None,
) -> tuple[list[Verdict], dict[str, pd.DataFrame]]:
    """Claims 3a (Table 5's corruptions, then all), and 3b, from the robustness tables; the dense side is the
    reference models. With the analysis's ``model_accuracies``, a natural adversarial set (ImageNet-A)
    enters 3b relative to clean accuracy. Returns the verdicts and their per-hypothesis tests by label."""
    natural = natural_relative_of(tables, model_accuracies)
    reference = range(reference_size)
    corruption, adversarial = tables.get("corruption_accuracy"), tables.get("adversarial_accuracy")
    found, details = [], {}
    present = [] if corruption is None or corruption.empty else list(set(corruption["corruption"]))
    table5 = [name for name in TABLE5_CORRUPTIONS if name in present]
    for label, chosen, what in (
        ("3a", table5, f"on the {len(table5)} of Table 5's corruptions evaluated here"),
        ("3a-all", None, f"on all {len(present)} corruptions"),
    ):
        if label == "3a" and not table5:
            found.append(Verdict(label, CLAIMS[label], NOT_EVALUATED, "none of Table 5's corruptions was evaluated"))
            continue
        verdict, detail = corruption_finding(corruption, reference, alpha, chosen, label, what)
        found.append(verdict)
        details[label] = detail
    verdict, details["3b"] = adversarial_finding(adversarial, reference, alpha, natural)
    found.append(verdict)
    return found, details


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "claim": v.label,
                "the paper's claim (paraphrased)": v.claim,
                "verdict": v.verdict,
                "evidence": v.statistic,
                "sizes": v.sizes,
                "rests on": v.rests_on,
            }
            for v in verdicts
        ]
    )
