"""Verdicts on the claims about Pruning Identified Exemplars (2a, 2, 2t, 2l): PIE counts above the dense
noise floor, PIEs harder for held-out models than the floor's sets, counts that grow with sparsity, and
PIEs found at low sparsity the hardest; each level's evidence in one table (``pie_level_table``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pruning_impact.analysis.stats import empirical_p, holm
from pruning_impact.foundations.levels import format_percent
from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    MIXED,
    NOT_REPRODUCED,
    REPRODUCED,
    Verdict,
    levels_text,
    trend_verdict,
)

PIE_MARGIN = 0.05
"""Five points of top-1: held-out accuracy on PIE_t within this of the floor sets' counts as no harder."""
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
    shown = ", ".join(
        f"{format_percent(r.sparsity)}: {r.n_pie} (p = {r.p_count_holm:.2g})" for r in pie_levels.itertuples()
    )
    text = (
        f"PIEs per level, with Holm-adjusted permutation p-values: {shown}; two dense groups disagree on "
        f"{pie_levels['floor_mean'].iloc[0]:.1f} images on average"
    )
    sizes = f"K = {int(pie_counts['k_dense'].iloc[0])} dense vs {int(pie_counts['k_sparse'].iloc[0])} sparse"
    verdict = REPRODUCED if len(hit) else INCONCLUSIVE
    return Verdict("2a", CLAIMS["2a"], verdict, text, sizes, levels_text(hit["sparsity"]) if len(hit) else "all levels")


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
    shown = ", ".join(f"{format_percent(r.sparsity)}: {100 * r.held_out_on_pie:.1f}%" for r in levels.itertuples())
    text = (
        f"held-out dense top-1 on PIE_t ({shown}) against {100 * levels['held_out_on_floor'].iloc[0]:.1f}% on "
        f"dense-vs-dense disagreement sets and {100 * levels['held_out_on_random'].mean():.1f}% on random samples "
        "(mean over levels); "
        f"harder at {levels_text(harder['sparsity'])}, easier at {levels_text(easier['sparsity'])}"
    )
    sizes = (
        f"PIEs chosen by {int(pie_counts['k_dense'].iloc[0])} dense vs {int(pie_counts['k_sparse'].iloc[0])} sparse "
        f"models; scored by {int(levels['held_out_k'].iloc[0])} held-out dense"
    )
    if len(harder) and len(easier):
        both = sorted({*harder["sparsity"], *easier["sparsity"]})
        return Verdict("2", CLAIMS["2"], MIXED, text, sizes, levels_text(both))
    if len(harder):
        return Verdict("2", CLAIMS["2"], REPRODUCED, text, sizes, levels_text(harder["sparsity"]))
    if len(easier):
        return Verdict("2", CLAIMS["2"], NOT_REPRODUCED, text, sizes, levels_text(easier["sparsity"]))
    if (levels["p_equivalent"] <= alpha).all():
        text += f"; within +-{100 * PIE_MARGIN:.0f} points of the floor sets at every level (equivalence test)"
        return Verdict("2", CLAIMS["2"], NOT_REPRODUCED, text, sizes, "all levels")
    return Verdict("2", CLAIMS["2"], INCONCLUSIVE, text, sizes, "all levels")


def pie_trend(pie_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 2t: the PIE count grows with sparsity (and the most sparse level has more PIEs than chance;
    see ``trend_verdict``)."""
    levels = pie_levels.sort_values("sparsity")
    top_p = float(levels["p_count_holm"].iloc[-1]) if len(levels) else np.nan
    sizes = (
        f"K = {int(levels['k_dense'].iloc[0])} dense vs {int(levels['k_sparse'].iloc[0])} sparse per level"
        if len(levels)
        else ""
    )
    return trend_verdict("2t", levels["sparsity"].to_numpy(), levels["n_pie"].to_numpy(), "PIEs", alpha, top_p, sizes)


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
        f"held-out dense top-1 on PIE_t: {100 * by_t.iloc[0]:.1f}% at {format_percent(low)}, {100 * by_t.iloc[-1]:.1f}% at "
        f"{format_percent(high)} (permutation p = {p_low:.3g}, {np.isfinite(null).sum()} re-splits)"
    )
    rests = f"{format_percent(low)} vs {format_percent(high)}"
    if (low, high) != (pie_levels["sparsity"].min(), pie_levels["sparsity"].max()):
        return Verdict("2l", CLAIMS["2l"], INCONCLUSIVE, "no PIE at the lowest or the highest sparsity", "", rests)
    counted = pie_levels.set_index("sparsity")["p_count_holm"]
    low_p, top_p = float(counted.get(low, np.nan)), float(counted.get(high, np.nan))
    text += (
        f"; more PIEs than chance at {format_percent(low)}: p = {low_p:.3g}, at {format_percent(high)}: p = {top_p:.3g}"
    )
    sizes = f"scored by {int(rows['k'].iloc[0])} held-out dense"
    # the claim is about PIEs at both ends: a noise-floor set at either end makes the comparison vacuous
    if p_low <= alpha and low_p <= alpha and top_p <= alpha:
        return Verdict("2l", CLAIMS["2l"], REPRODUCED, text, sizes, rests)
    if p_high <= alpha:
        return Verdict("2l", CLAIMS["2l"], NOT_REPRODUCED, text, sizes, rests)
    return Verdict("2l", CLAIMS["2l"], INCONCLUSIVE, text, sizes, rests)


def pie_levels(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``pie_level_table`` from the analysis tables."""
    return pie_level_table(
        tables["pie_counts"], tables["pie_noise_floor"], tables["pie_evaluation"], tables["pie_permutations"]
    )
