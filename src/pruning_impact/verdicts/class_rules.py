"""Verdicts on the class-level claims (1, 1t, 1r): more classes significant than two dense groups give by
chance, an impact that grows with sparsity, and more classes that gain than lose; with the equivalence
margin that lets "not reproduced" rest on evidence of absence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import empirical_p, holm
from pruning_impact.foundations.levels import format_percent
from pruning_impact.verdicts import paper
from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Verdict,
    levels_text,
    trend_verdict,
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
        f"{int(best['n_significant'])} significant classes at {format_percent(best['sparsity'])} against "
        f"{best['aa_mean']:.2f} on average between two dense groups (Holm-adjusted p = {best['p_holm']:.3g}); "
        f"levels above chance: {levels_text(hit['sparsity'])}"
    )
    if len(hit):
        return Verdict("1", CLAIMS["1"], REPRODUCED, text, sizes, levels_text(hit["sparsity"]))
    if len(equivalence) and (equivalence["p_equivalent"] <= alpha).all():
        text += f"; every class within +-{100 * CLASS_MARGIN:.2f} points at every level (equivalence test)"
        return Verdict("1", CLAIMS["1"], NOT_REPRODUCED, text, sizes, "all levels")
    return Verdict("1", CLAIMS["1"], INCONCLUSIVE, text, sizes, "all levels")


def class_trend(class_tests: pd.DataFrame, class_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 1t: the mean absolute normalized recall difference over classes grows with sparsity (and
    the most sparse level has more significant classes than chance; see ``trend_verdict``)."""
    tests = class_tests[class_tests["correction"] == "none"]
    per_level = tests.groupby("sparsity")["normalized_recall_difference"].apply(lambda d: d.abs().mean())
    top_p = float(class_levels.loc[class_levels["sparsity"].idxmax(), "p_holm"]) if len(class_levels) else np.nan
    sizes = (
        f"K = {int(class_levels['k_dense'].iloc[0])} dense vs {int(class_levels['k_sparse'].iloc[0])} sparse per level"
        if len(class_levels)
        else ""
    )
    return trend_verdict(
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
        f"{format_percent(top['sparsity'])}; against the dense-vs-dense splits p = {p_up:.3g} for more rising, "
        f"{p_down:.3g} for more falling"
    )
    sizes = f"K = {int(top['k_dense'])} dense vs {int(top['k_sparse'])} sparse; {len(null)} splits"
    rests = format_percent(top["sparsity"])
    if surplus > 0 and p_up <= alpha:
        return Verdict("1r", CLAIMS["1r"], REPRODUCED, text, sizes, rests)
    if surplus < 0 and p_down <= alpha:
        return Verdict("1r", CLAIMS["1r"], NOT_REPRODUCED, text, sizes, rests)
    return Verdict("1r", CLAIMS["1r"], INCONCLUSIVE, text, sizes, rests)
