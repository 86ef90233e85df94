"""Verdicts on the claims about Pruning Identified Exemplars: PIE counts above chance (2a), PIEs harder than
random and non-PIE images for held-out dense and sparse models (2, the paper's Figure 4), harder than chance
disagreement sets at the same vote margin (2s, beyond the paper), counts that grow with sparsity (2t), and
PIEs of the lowest sparsity harder than those of the highest (2l). Each level's evidence is a table
(``pie_level_table``, ``pie_hardness_table``, ``pie_specific_table``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.pie import MARGIN_BINS
from pruning_impact.analysis.stats import empirical_p, holm
from pruning_impact.foundations.levels import format_percent
from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    MIXED,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Verdict,
    levels_text,
    trend_verdict,
)

MIN_NULL_DRAWS = 20
"""Fewest distinct values a null distribution needs before its p-values are used (1 / 0.05)."""
SPECIFIC_MARGIN_SDS = 2.0
"""Claim 2s's margin in standard deviations of the chance sets' margin-matched residual."""
_BINS = range(len(MARGIN_BINS) + 1)


def _distinct_enough(draws: np.ndarray) -> np.ndarray:
    """The draws of a null distribution, or none when they take fewer than ``MIN_NULL_DRAWS`` distinct
    values (tiny populations repeat the same few splits; their p-values would be meaningless)."""
    finite = draws[np.isfinite(draws)]
    return draws if len(np.unique(finite)) >= MIN_NULL_DRAWS else np.array([])


def pie_level_table(pie_counts: pd.DataFrame, noise_floor: pd.DataFrame, permutations: pd.DataFrame) -> pd.DataFrame:
    """Per sparsity: the PIE count against its permutation distribution (reference and sparse models pooled
    and re-split, ``pie.permutation_floor``), the dense-vs-dense floor beside it, one-sided p-values
    Holm-adjusted over levels (claims 2a and 2t). A null with fewer than ``MIN_NULL_DRAWS`` distinct values
    gives no p-value."""
    counts = pie_counts.sort_values("sparsity")
    floor_n = noise_floor["n_pie"].to_numpy(dtype=float)
    rows = []
    for _, row in counts.iterrows():
        null_n = _distinct_enough(
            permutations.loc[permutations["sparsity"] == row["sparsity"], "n_pie"].to_numpy(float)
        )
        rows.append(
            {
                "sparsity": row["sparsity"],
                "k_dense": int(row["k_dense"]),
                "k_sparse": int(row["k_sparse"]),
                "n_pie": int(row["n_pie"]),
                "floor_mean": floor_n.mean() if len(floor_n) else np.nan,
                "floor_high": np.percentile(floor_n, 97.5) if len(floor_n) else np.nan,
                "permuted_mean": null_n.mean() if len(null_n) else np.nan,
                "p_count": empirical_p(row["n_pie"], null_n, "greater"),
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["p_count_holm"] = holm(table["p_count"].to_numpy())
    return table


def pie_margin(hardness: pd.DataFrame, noise_floor: pd.DataFrame, scale: float = 1.0) -> float:
    """Claim 2's equivalence margin on this population's scale: half the distance between the held-out dense
    models' top-1 on all test images and on the dense-vs-dense disagreement sets (a PIE set within it is
    closer to random images than to chance-contested ones); times ``scale``."""
    dense = hardness[hardness["scorer"] == "dense held-out"] if len(hardness) else hardness
    floor = noise_floor["held_out_top1"] if "held_out_top1" in noise_floor else pd.Series(dtype=float)
    if not len(dense) or not floor.notna().any():
        return float("nan")
    return scale * 0.5 * float(dense["top1_all"].iloc[0] - floor.mean())


def pie_hardness_table(hardness: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Per sparsity, claim 2's evidence: for each held-out scoring group (dense, sparse) top-1 on PIE_t, on
    non-PIE images and on all, the exact one-sided p-values (``pie.pie_hardness``) and the equivalence
    p-value of |top1 on PIE_t - top1 on random samples| < ``margin`` (two one-sided z-tests with a random
    sample's standard error). ``p_harder`` at a level is the larger over the groups (harder for both);
    ``p_easier`` the smaller (easier for either, Bonferroni over the two); Holm over levels."""
    rows = []
    for t, level in hardness.groupby("pie_sparsity", sort=True):
        row = {"sparsity": t, "n_pie": int(level["n_pie"].iloc[0])}
        p_harder, p_easier, p_equivalent = [], [], []
        for r in level.itertuples():
            key = "dense" if r.scorer.startswith("dense") else "sparse"
            row.update({f"{key}_k": r.k, f"{key}_on_pie": r.top1_pie, f"{key}_on_non_pie": r.top1_non_pie})
            row.update({f"{key}_on_random": r.top1_all, f"{key}_p_harder": r.p_harder})
            d = r.top1_pie - r.top1_all
            with np.errstate(invalid="ignore", divide="ignore"):
                equivalent = max(
                    scipy_stats.norm.sf((d + margin) / r.random_se), scipy_stats.norm.cdf((d - margin) / r.random_se)
                )
            p_harder.append(r.p_harder)
            p_easier.append(min(1.0, 2 * r.p_easier))
            p_equivalent.append(equivalent)
        row.update({"p_harder": max(p_harder), "p_easier": min(p_easier), "p_equivalent": max(p_equivalent)})
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["p_harder_holm"] = holm(table["p_harder"].to_numpy())
        table["p_easier_holm"] = holm(table["p_easier"].to_numpy())
    return table


def _residuals(profile: pd.DataFrame, rates: np.ndarray) -> np.ndarray:
    """Each set's held-out top-1 less what the chance sets score at its mix of vote margins (``rates``: top-1
    per margin bin); NaN for empty sets."""
    n = profile[[f"n_{b}" for b in _BINS]].to_numpy(dtype=float)
    hits = profile[[f"hits_{b}" for b in _BINS]].to_numpy(dtype=float)
    total = n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (hits.sum(axis=1) - n @ rates) / total, np.nan)


def _margin_rates(floor: pd.DataFrame) -> np.ndarray:
    """Held-out top-1 per margin bin, pooled over the disagreement sets of ``floor`` (NaN for an empty bin)."""
    n = floor[[f"n_{b}" for b in _BINS]].to_numpy(dtype=float).sum(axis=0)
    hits = floor[[f"hits_{b}" for b in _BINS]].to_numpy(dtype=float).sum(axis=0)
    return np.divide(hits, n, out=np.full(len(n), np.nan), where=n > 0)


def pie_specific_table(
    margins: pd.DataFrame,
    noise_floor: pd.DataFrame,
    permutations: pd.DataFrame,
    sparse_floor: pd.DataFrame,
    margin_scale: float = 1.0,
    half_floor: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per sparsity, claim 2s's evidence: PIE_t's held-out dense top-1 less what chance disagreement sets score
    at the same defining vote margins (``MARGIN_BINS``; rates pooled over the dense-vs-dense sets), against
    the same residual of every chance set: dense-vs-dense splits, the level's permuted re-splits (dense and
    sparse models mixed) and sparse-vs-sparse halves, so neither side of the comparison is favoured. A set
    is matched against chance sets defined by groups of its own size: the halves against the dense-vs-dense
    sets of ``half_floor`` (without them the halves are left out). Equivalence margin:
    ``SPECIFIC_MARGIN_SDS`` standard deviations of the dense-vs-dense residual."""
    if margins.empty or "n_0" not in noise_floor:
        return pd.DataFrame()
    rates = _margin_rates(noise_floor)
    if np.isnan(rates).any():
        return pd.DataFrame()
    floor = _residuals(noise_floor, rates)
    margin = margin_scale * SPECIFIC_MARGIN_SDS * float(np.nanstd(floor, ddof=1))
    half_rates = {}
    if half_floor is not None and len(half_floor) and "n_0" in half_floor:
        for half, rows in half_floor.groupby("half_size"):
            if not np.isnan(found := _margin_rates(rows)).any():
                half_rates[half] = found
    rows = []
    for row in margins.sort_values("sparsity").itertuples():
        t = row.sparsity
        parts = [floor]
        if len(permutations) and "n_0" in permutations:
            parts.append(_residuals(permutations[permutations["sparsity"] == t], rates))
        if len(sparse_floor) and "n_0" in sparse_floor:
            halves = sparse_floor[sparse_floor["sparsity"] == t]
            for half, part in halves.groupby("half_size"):
                if half in half_rates:
                    parts.append(_residuals(part, half_rates[half]))
        null = _distinct_enough(np.concatenate(parts))
        x = float(_residuals(margins[margins["sparsity"] == t], rates)[0])
        rows.append(
            {
                "sparsity": t,
                "n_pie": int(row.n_pie),
                "residual": x,
                "null_mean": float(np.nanmean(null)) if len(null) else np.nan,
                "null_sd": float(np.nanstd(null, ddof=1)) if len(null) > 1 else np.nan,
                "null_sets": int(np.isfinite(null).sum()),
                "margin": margin,
                "p_harder": empirical_p(x, null, "less"),
                "p_easier": empirical_p(x, null, "greater"),
                "p_equivalent": max(empirical_p(x, null - margin, "greater"), empirical_p(x, null + margin, "less")),
            }
        )
    return pd.DataFrame(rows)


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


def pie_finding(hardness_levels: pd.DataFrame, pie_counts: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 2 as the paper's Figure 4 states it. Reproduced when at some level PIE_t holds significantly
    more hard images than random samples for both held-out groups (Holm over levels); not reproduced when
    significantly easier at some level and harder at none, or within the margin of random samples at every
    level; mixed when both directions occur; inconclusive otherwise."""
    if hardness_levels.empty or "dense_on_pie" not in hardness_levels:
        return Verdict("2", CLAIMS["2"], INCONCLUSIVE, "no PIE, or no held-out dense models (3K dense needed)")
    levels = hardness_levels
    harder = levels[levels["p_harder_holm"] <= alpha]
    easier = levels[levels["p_easier_holm"] <= alpha]
    groups = ["dense", "sparse"] if "sparse_on_pie" in levels else ["dense"]

    def per_group(column: str) -> str:
        return " / ".join(f"{100 * levels[f'{g}_{column}'].mean():.1f}%" for g in groups)

    shown = ", ".join(
        f"{format_percent(r.sparsity)}: " + " / ".join(f"{100 * getattr(r, f'{g}_on_pie'):.1f}%" for g in groups)
        for r in levels.itertuples()
    )
    text = (
        f"held-out {' / '.join(groups)} top-1 on PIE_t ({shown}) against {per_group('on_random')} on random "
        f"samples and {per_group('on_non_pie')} on non-PIE images (means over levels); harder for "
        f"{'both' if len(groups) == 2 else 'them'} at {levels_text(harder['sparsity'])} (exact hypergeometric "
        f"tests, Holm), easier at {levels_text(easier['sparsity'])}"
        + ("" if len(groups) == 2 else "; one sparse level only: no sparse model is held out")
    )
    sizes = (
        f"PIEs chosen by {int(pie_counts['k_dense'].iloc[0])} dense vs {int(pie_counts['k_sparse'].iloc[0])} sparse "
        f"models; scored by {int(levels['dense_k'].iloc[0])} held-out dense"
        + (" and the other levels' sparse models" if len(groups) == 2 else "")
    )
    if len(harder) and len(easier):
        return Verdict(
            "2", CLAIMS["2"], MIXED, text, sizes, levels_text(sorted({*harder["sparsity"], *easier["sparsity"]}))
        )
    if len(harder):
        return Verdict("2", CLAIMS["2"], REPRODUCED, text, sizes, levels_text(harder["sparsity"]))
    if len(easier):
        return Verdict("2", CLAIMS["2"], NOT_REPRODUCED, text, sizes, levels_text(easier["sparsity"]))
    if (levels["p_equivalent"] <= alpha).all():
        return Verdict(
            "2", CLAIMS["2"], NOT_REPRODUCED, text + "; as hard as random samples (equivalence)", sizes, "all levels"
        )
    return Verdict("2", CLAIMS["2"], INCONCLUSIVE, text, sizes, "all levels")


def pie_specific_finding(specific: pd.DataFrame, pie_levels: pd.DataFrame, alpha: float = 0.05) -> Verdict:
    """Claim 2s, beyond the paper: is PIE_t harder than chance disagreement sets at the same vote margins?
    Judged only at levels with more PIEs than chance (claim 2a), Holm over them. Reproduced when harder at
    one; not reproduced when easier at one and harder at none, or within the margin at every judged level;
    not testable where no level has more PIEs than chance."""
    if specific.empty:
        return Verdict("2s", CLAIMS["2s"], INCONCLUSIVE, "no held-out dense models or no chance sets to match")
    counted = pie_levels.set_index("sparsity")["p_count_holm"]
    judged = specific[specific["sparsity"].map(counted) <= alpha]
    if judged.empty:
        return Verdict("2s", CLAIMS["2s"], NOT_TESTABLE, "no level has more PIEs than chance (claim 2a)")
    harder, easier = holm(judged["p_harder"].to_numpy()), holm(judged["p_easier"].to_numpy())
    shown = ", ".join(
        f"{format_percent(r.sparsity)}: {100 * r.residual:+.1f} points (chance sets {100 * r.null_mean:+.1f} "
        f"+- {100 * r.null_sd:.1f})"
        for r in judged.itertuples()
    )
    text = (
        f"held-out dense top-1 on PIE_t less that of chance disagreement sets at the same vote margins ({shown}); "
        f"Holm-adjusted p = {harder.min():.3g} for harder, {easier.min():.3g} for easier; "
        f"{int(judged['null_sets'].iloc[0])} chance sets per level"
    )
    rests = levels_text(judged["sparsity"])
    sizes = "scored by the held-out dense models"
    if (harder <= alpha).any() and (easier <= alpha).any():
        return Verdict("2s", CLAIMS["2s"], MIXED, text, sizes, rests)
    if (harder <= alpha).any():
        return Verdict("2s", CLAIMS["2s"], REPRODUCED, text, sizes, rests)
    if (easier <= alpha).any():
        return Verdict("2s", CLAIMS["2s"], NOT_REPRODUCED, text, sizes, rests)
    if (judged["p_equivalent"] <= alpha).all():
        text += f"; within +-{100 * judged['margin'].iloc[0]:.1f} points of the chance sets (equivalence)"
        return Verdict("2s", CLAIMS["2s"], NOT_REPRODUCED, text, sizes, rests)
    return Verdict("2s", CLAIMS["2s"], INCONCLUSIVE, text, sizes, rests)


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
    """Claim 2l, the observation of the paper's Figure 4: held-out dense models score lower on PIE_t at the
    lowest sparsity than at the highest, judged against the difference's permutation distribution (the two
    sparse populations pooled and re-split, ``pie.permuted_hardness_difference``). Whether the lowest
    level's PIEs are beyond chance at all is reported beside it, not folded into the verdict: a PIE set at
    the noise floor is still a set the paper would have drawn."""
    rows = evaluation[(evaluation["subset"] == "pie") & (evaluation["scorer"] == "dense held-out")]
    null = low_vs_high["difference"].to_numpy(dtype=float) if len(low_vs_high) else np.array([])
    if rows["pie_sparsity"].nunique() < 2 or not np.isfinite(null).any():
        return Verdict("2l", CLAIMS["2l"], NOT_TESTABLE, "needs two sparse levels and held-out dense models")
    by_t = rows.set_index("pie_sparsity")["top1_mean"].sort_index()
    low, high = by_t.index[0], by_t.index[-1]
    difference = by_t.iloc[0] - by_t.iloc[-1]
    p_low, p_high = empirical_p(difference, null, "less"), empirical_p(difference, null, "greater")
    counted = pie_levels.set_index("sparsity")["p_count_holm"]
    low_p = float(counted.get(low, np.nan))
    text = (
        f"held-out dense top-1 on PIE_t: {100 * by_t.iloc[0]:.1f}% at {format_percent(low)}, {100 * by_t.iloc[-1]:.1f}% at "
        f"{format_percent(high)} (permutation p = {p_low:.3g} for harder at {format_percent(low)}, {p_high:.3g} for "
        f"easier; {np.isfinite(null).sum()} re-splits); separately, PIE_{format_percent(low)} "
        + ("is beyond" if low_p <= alpha else "is not beyond")
        + f" the noise floor (p = {low_p:.3g})"
    )
    rests = f"{format_percent(low)} vs {format_percent(high)}"
    sizes = f"scored by {int(rows['k'].iloc[0])} held-out dense"
    if p_low <= alpha:
        return Verdict("2l", CLAIMS["2l"], REPRODUCED, text, sizes, rests)
    if p_high <= alpha:
        return Verdict("2l", CLAIMS["2l"], NOT_REPRODUCED, text, sizes, rests)
    return Verdict("2l", CLAIMS["2l"], INCONCLUSIVE, text, sizes, rests)


def pie_levels(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``pie_level_table`` from the analysis tables."""
    return pie_level_table(tables["pie_counts"], tables["pie_noise_floor"], tables["pie_permutations"])


def pie_hardness_levels(tables: dict[str, pd.DataFrame], margin_scale: float = 1.0) -> pd.DataFrame:
    """``pie_hardness_table`` from the analysis tables, with ``pie_margin`` at ``margin_scale``."""
    margin = pie_margin(tables["pie_hardness"], tables["pie_noise_floor"], margin_scale)
    return pie_hardness_table(tables["pie_hardness"], margin)


def pie_specific_levels(tables: dict[str, pd.DataFrame], margin_scale: float = 1.0) -> pd.DataFrame:
    """``pie_specific_table`` from the analysis tables."""
    return pie_specific_table(
        tables["pie_margins"],
        tables["pie_noise_floor"],
        tables["pie_permutations"],
        tables["pie_sparse_floor"],
        margin_scale,
        tables.get("pie_half_floor"),
    )
