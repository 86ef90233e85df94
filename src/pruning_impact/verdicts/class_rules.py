"""Verdicts on the class-level claims (1, 1t, 1r): more classes significant than when the reference and the
sparse models are exchangeable, an impact beyond the class estimates' noise that grows with sparsity, and,
among the classes pruning affects, more that gain than lose; with the equivalence margin (on this
population's own scale) that lets "not reproduced" rest on evidence of absence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import empirical_p, holm
from pruning_impact.foundations.levels import format_percent
from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Verdict,
    levels_text,
    trend_verdict,
)

SIGN_TEST_MIN = 5
"""Fewest significant classes at which a one-sided sign test can reach 0.05 (0.5 ** 5 = 0.031)."""


def class_margin(aa_calibration: pd.DataFrame, scale: float = 1.0) -> float:
    """The class equivalence margin on this population's scale: the largest |normalized difference| over
    classes that two dense groups of the sparse populations' size show, averaged over the dense-vs-dense
    splits (pruning that moves no class further than retraining does counts as no effect); times ``scale``."""
    rows = aa_calibration[aa_calibration["correction"] == "none"] if len(aa_calibration) else aa_calibration
    if not len(rows) or "max_abs_difference" not in rows:
        return float("nan")
    return scale * float(rows["max_abs_difference"].mean())


def class_level_table(
    class_summary: pd.DataFrame, aa_calibration: pd.DataFrame, class_permutations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per sparsity: classes significant in the paper's uncorrected test, the dense-vs-dense (A/A) counts at
    the same sizes beside them, and the p-value of the count against its permutation distribution (the
    reference and the level's models pooled and re-split; the A/A splits where no permutations are given),
    Holm-adjusted over levels."""
    observed = class_summary[class_summary["correction"] == "none"].sort_values("sparsity")
    chance = aa_calibration.loc[aa_calibration["correction"] == "none", "n_significant"].to_numpy(dtype=float)
    table = pd.DataFrame(
        {
            "sparsity": observed["sparsity"].to_numpy(),
            "k_dense": observed["k_dense"].to_numpy(),
            "k_sparse": observed["k_sparse"].to_numpy(),
            "n_significant": observed["n_significant"].to_numpy(),
            "n_increase": observed["n_increase"].to_numpy(),
            "n_decrease": observed["n_decrease"].to_numpy(),
            "aa_mean": chance.mean() if len(chance) else np.nan,
            "aa_high": np.percentile(chance, 95) if len(chance) else np.nan,
        }
    )
    permuted = []
    for t, n in zip(table["sparsity"], table["n_significant"], strict=True):
        null = chance
        if class_permutations is not None and len(class_permutations):
            null = class_permutations.loc[class_permutations["sparsity"] == t, "n_significant"].to_numpy(dtype=float)
        permuted.append((null.mean() if len(null) else np.nan, empirical_p(n, null, "greater")))
    table["permuted_mean"] = [m for m, _ in permuted]
    table["p_value"] = [p for _, p in permuted]
    table["p_holm"] = holm(table["p_value"].to_numpy())
    return table


def class_equivalence(class_tests: pd.DataFrame, margin: float) -> pd.DataFrame:
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


def _sizes(levels: pd.DataFrame) -> str:
    return f"K = {int(levels['k_dense'].iloc[0])} dense vs {int(levels['k_sparse'].iloc[0])} sparse per level"


def class_finding(
    class_summary: pd.DataFrame,
    class_tests: pd.DataFrame,
    aa_calibration: pd.DataFrame,
    alpha: float = 0.05,
    class_permutations: pd.DataFrame | None = None,
    margin_scale: float = 1.0,
) -> Verdict:
    """Claim 1. Reproduced when, at some level, more classes are significant than when the reference and
    the level's models are exchangeable (permutations, Holm over levels); not reproduced when every class
    at every level is shown equivalent within ``class_margin``; inconclusive otherwise."""
    if class_summary.empty or (aa_calibration.empty and (class_permutations is None or class_permutations.empty)):
        return Verdict("1", CLAIMS["1"], INCONCLUSIVE, "too few models for a null distribution of the class counts")
    levels = class_level_table(class_summary, aa_calibration, class_permutations)
    hit = levels[levels["p_holm"] <= alpha]
    margin = class_margin(aa_calibration, margin_scale)
    best = levels.loc[levels["p_holm"].idxmin()]
    text = (
        f"{int(best['n_significant'])} significant classes at {format_percent(best['sparsity'])} against "
        f"{best['permuted_mean']:.2f} on average with the models re-split at random (Holm-adjusted p = "
        f"{best['p_holm']:.3g}; two dense groups: {best['aa_mean']:.2f}); levels above chance: "
        f"{levels_text(hit['sparsity'])}"
    )
    if len(hit):
        return Verdict("1", CLAIMS["1"], REPRODUCED, text, _sizes(levels), levels_text(hit["sparsity"]))
    equivalence = class_equivalence(class_tests, margin) if np.isfinite(margin) else pd.DataFrame()
    if len(equivalence) and (equivalence["p_equivalent"] <= alpha).all():
        text += f"; every class within +-{100 * margin:.2f} points at every level (equivalence test)"
        return Verdict("1", CLAIMS["1"], NOT_REPRODUCED, text, _sizes(levels), "all levels")
    return Verdict("1", CLAIMS["1"], INCONCLUSIVE, text, _sizes(levels), "all levels")


def impact_beyond_noise(class_tests: pd.DataFrame, standardized: bool = False) -> pd.DataFrame:
    """Per class (rows) and sparsity (columns), d^2 - se^2: the squared normalized recall difference less the
    squared standard error of its estimate, an unbiased estimate of the squared true class effect (near 0
    with no effect, however noisy the sparse models are). Its mean over classes is the level's impact.
    ``standardized`` divides by sqrt(2) se^2, its spread with no effect, so that noisier levels do not
    spread wider (0 where a class has no spread at all)."""
    tests = class_tests[class_tests["correction"] == "none"]
    d, se = tests["normalized_recall_difference"].to_numpy(float), tests["standard_error"].to_numpy(float)
    values = d**2 - se**2
    if standardized:
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(se > 0, values / (np.sqrt(2) * se**2), 0.0)
    return tests.assign(value=values).pivot(index="class", columns="sparsity", values="value").sort_index(axis=1)


TREND_PERMUTATIONS = 4000
"""Within-class permutations of the levels behind claim 1t's p-value (its smallest is 1 / 4001)."""


def within_class_trend_p(impact: pd.DataFrame, seed: int = 0) -> tuple[float, float]:
    """One-sided p-values (growth, decline) of sum over classes and levels of (t - mean t) times ``impact``
    (``impact_beyond_noise``, standardized), against the same sum with each class's levels shuffled on its
    own (``TREND_PERMUTATIONS`` times): with no effect a class's standardized estimates are exchangeable over
    the levels however the noise grows, and shuffling class by class uses every class's evidence rather than
    one mean per level."""
    values = impact.to_numpy(dtype=float)
    if values.shape[1] < 3 or np.isnan(values).any():
        return float("nan"), float("nan")
    weights = impact.columns.to_numpy(dtype=float) - impact.columns.to_numpy(dtype=float).mean()
    observed = float((values @ weights).sum())
    rng = np.random.default_rng(seed)
    orders = rng.permuted(np.broadcast_to(np.arange(values.shape[1]), (TREND_PERMUTATIONS, *values.shape)), axis=2)
    null = (np.take_along_axis(np.broadcast_to(values, orders.shape), orders, axis=2) @ weights).sum(axis=1)
    tolerance = 1e-12 * max(1.0, abs(observed))
    return empirical_p(observed - tolerance, null, "greater"), empirical_p(observed + tolerance, null, "less")


def class_trend(class_tests: pd.DataFrame, class_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 1t: the class-level impact beyond noise (``impact_beyond_noise``) grows with sparsity, by
    ``within_class_trend_p`` on the standardized impact, and the most sparse level has more significant classes than chance (see
    ``trend_verdict``). A plain mean |difference| would grow with the sparse models' noise alone."""
    impact = impact_beyond_noise(class_tests)
    top_p = float(class_levels.loc[class_levels["sparsity"].idxmax(), "p_holm"]) if len(class_levels) else np.nan
    sizes = _sizes(class_levels) if len(class_levels) else ""
    up, down = within_class_trend_p(impact_beyond_noise(class_tests, standardized=True))
    return trend_verdict(
        "1t",
        impact.columns.to_numpy(),
        impact.mean(axis=0).to_numpy(),
        "mean over classes of d^2 - se^2 (class effects beyond noise)",
        alpha,
        top_p,
        sizes,
        p=(up, down, f"over {TREND_PERMUTATIONS} shuffles of the levels within each class"),
    )


def rise_vs_fall(class_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 1r, a direction: at the levels where claim 1 holds, more of the significant classes rise than
    fall. A sign test conditional on the significant classes (binomial, one-sided, Holm over those levels):
    with no direction, a significant class is as likely to rise as to fall, however many are significant.
    Not testable with fewer than ``SIGN_TEST_MIN`` significant classes (its p-value cannot reach 0.05)."""
    if class_levels.empty:
        return Verdict("1r", CLAIMS["1r"], INCONCLUSIVE, "no class tests")
    affected = class_levels[class_levels["p_holm"] <= alpha]
    if affected.empty:
        return Verdict("1r", CLAIMS["1r"], NOT_TESTABLE, "no level has more significant classes than chance (claim 1)")
    rises, falls = affected["n_increase"].to_numpy(int), affected["n_decrease"].to_numpy(int)
    if (rises + falls).max() < SIGN_TEST_MIN:
        return Verdict(
            "1r",
            CLAIMS["1r"],
            NOT_TESTABLE,
            f"at most {(rises + falls).max()} significant classes at a level; a sign test needs {SIGN_TEST_MIN} "
            "to reach 0.05",
            _sizes(class_levels),
        )
    up = holm([scipy_stats.binomtest(r, r + f, 0.5, "greater").pvalue for r, f in zip(rises, falls, strict=True)])
    down = holm([scipy_stats.binomtest(r, r + f, 0.5, "less").pvalue for r, f in zip(rises, falls, strict=True)])
    shown = ", ".join(
        f"{format_percent(t)}: {r} up, {f} down (p = {p:.2g})"
        for t, r, f, p in zip(affected["sparsity"], rises, falls, up, strict=True)
    )
    text = f"significant classes rising and falling where claim 1 holds ({shown}); sign test, Holm over levels"
    rests = levels_text(affected["sparsity"])
    if (up <= alpha).any():
        return Verdict("1r", CLAIMS["1r"], REPRODUCED, text, _sizes(class_levels), rests)
    if (down <= alpha).any():
        return Verdict("1r", CLAIMS["1r"], NOT_REPRODUCED, text, _sizes(class_levels), rests)
    return Verdict("1r", CLAIMS["1r"], INCONCLUSIVE, text, _sizes(class_levels), rests)
