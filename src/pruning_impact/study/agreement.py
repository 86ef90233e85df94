"""The study's statistics: each property's share among PIEs and non-PIEs with Wilson intervals and Fisher's
exact test (Holm-corrected over the properties), the power such a test has, and how well annotators agree
(Cohen's and Fleiss' kappa)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pruning_impact.analysis.stats import holm
from pruning_impact.study.sheet import QUESTIONS


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two raters' labels of the same items: (p_o - p_e) / (1 - p_e); NaN when chance
    agreement is already 1 (both raters gave one and the same label to every item)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("two raters' labels of the same items, as two 1-d arrays of one length")
    categories = np.union1d(a, b)
    observed = float(np.mean(a == b))
    expected = float(sum(np.mean(a == c) * np.mean(b == c) for c in categories))
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(ratings) -> float:
    """Fleiss' kappa of ``ratings`` [items, raters] (every rater rates every item): (P - P_e) / (1 - P_e),
    with P the mean pairwise agreement per item and P_e the agreement of raters picking categories at their
    overall rates; NaN when P_e is 1."""
    ratings = np.asarray(ratings)
    if ratings.ndim != 2 or ratings.shape[1] < 2 or not len(ratings):
        raise ValueError("ratings must be [items, raters >= 2]")
    items, raters = ratings.shape
    counts = np.stack([(ratings == c).sum(axis=1) for c in np.unique(ratings)], axis=1)  # [items, categories]
    per_item = ((counts * (counts - 1)).sum(axis=1)) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / (items * raters)
    chance = float((shares**2).sum())
    return float("nan") if chance == 1 else (float(per_item.mean()) - chance) / (1 - chance)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (sensible at 0 and n, unlike the normal one)."""
    from scipy.stats import norm

    if n == 0:
        return float("nan"), float("nan")
    z = float(norm.ppf(0.5 + confidence / 2))
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def fisher_exact(table) -> tuple[float, float]:
    """Odds ratio and two-sided p-value of Fisher's exact test of a 2x2 table [[a, b], [c, d]]."""
    from scipy.stats import fisher_exact as scipy_fisher

    result = scipy_fisher(np.asarray(table, dtype=np.int64))
    return float(result.statistic), float(result.pvalue)


def fisher_power(
    share_pie: float,
    share_non_pie: float,
    n_per_group: int,
    alpha: float = 0.05,
    simulations: int = 2000,
    seed: int = 0,
) -> float:
    """How often Fisher's exact test (two-sided, at ``alpha``) tells two groups of ``n_per_group`` images apart
    when the property's true shares are ``share_pie`` and ``share_non_pie`` (by seeded simulation)."""
    rng = np.random.default_rng(seed)
    a = rng.binomial(n_per_group, share_pie, simulations)
    b = rng.binomial(n_per_group, share_non_pie, simulations)
    p_of = {}
    for pair in set(zip(a.tolist(), b.tolist())):
        p_of[pair] = fisher_exact([[pair[0], n_per_group - pair[0]], [pair[1], n_per_group - pair[1]]])[1]
    return float(np.mean([p_of[pair] <= alpha for pair in zip(a.tolist(), b.tolist())]))


def properties(joined: pd.DataFrame) -> pd.DataFrame:
    """Per image and property, whether it has the property: when more than half of its annotators' answers
    say so (with two annotators who disagree: not). One row per item: item, is_pie, then one 0/1 column per
    property."""
    rows = joined.groupby("item")
    out = pd.DataFrame({"is_pie": rows["is_pie"].first().astype(int)})
    for q in QUESTIONS:
        present = (joined[q.name] == q.present_when).groupby(joined["item"]).mean()
        out[q.prop] = (present > 0.5).astype(int)
    return out.reset_index()


def property_table(joined: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Figure 5's numbers: each property's share among PIEs and among non-PIEs, with Wilson intervals, the
    odds ratio and Fisher's exact two-sided p (and Holm's adjustment over the properties)."""
    per_item = properties(joined)
    pie = per_item["is_pie"] == 1
    rows = []
    for q in QUESTIONS:
        has = per_item[q.prop] == 1
        counts = {"pie": int((has & pie).sum()), "non_pie": int((has & ~pie).sum())}
        sizes = {"pie": int(pie.sum()), "non_pie": int((~pie).sum())}
        ratio, p = fisher_exact(
            [[counts["pie"], sizes["pie"] - counts["pie"]], [counts["non_pie"], sizes["non_pie"] - counts["non_pie"]]]
        )
        row = {"property": q.prop, "group": q.group, "question": q.name}
        for part in ("pie", "non_pie"):
            low, high = wilson_interval(counts[part], sizes[part], confidence)
            row |= {
                f"n_{part}": sizes[part],
                f"count_{part}": counts[part],
                f"share_{part}": counts[part] / sizes[part] if sizes[part] else float("nan"),
                f"low_{part}": low,
                f"high_{part}": high,
            }
        rows.append(row | {"odds_ratio": ratio, "p_fisher": p})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_fisher"].to_numpy())
    return table


def agreement(joined: pd.DataFrame) -> pd.DataFrame:
    """Per question: the annotators, the share of items all of them answered alike, Fleiss' kappa, and
    Cohen's kappa when there are exactly two (NaN for one annotator: nothing to agree with)."""
    annotators = sorted(joined["annotator"].unique())
    rows = []
    for q in QUESTIONS:
        ratings = joined.pivot(index="item", columns="annotator", values=q.name)[annotators].to_numpy()
        row = {"question": q.name, "property": q.prop, "annotators": len(annotators)}
        if len(annotators) < 2:
            rows.append(row | {"all_agree": float("nan"), "fleiss_kappa": float("nan"), "cohen_kappa": float("nan")})
            continue
        row["all_agree"] = float((ratings == ratings[:, :1]).all(axis=1).mean())
        row["fleiss_kappa"] = fleiss_kappa(ratings)
        row["cohen_kappa"] = cohen_kappa(ratings[:, 0], ratings[:, 1]) if len(annotators) == 2 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def properties_view(table: pd.DataFrame) -> pd.DataFrame:
    """``property_table`` as the chapter shows it: counts, each share with its interval in one cell, p-values
    in two significant digits."""

    def share(part: str) -> pd.Series:
        return table.apply(
            lambda r: f"{r[f'share_{part}']:.3f} ({r[f'low_{part}']:.3f}-{r[f'high_{part}']:.3f})", axis=1
        )

    return pd.DataFrame(
        {
            "property": table["property"],
            "# PIE": table["count_pie"],
            "PIE share (95% interval)": share("pie"),
            "# non-PIE": table["count_non_pie"],
            "non-PIE share (95% interval)": share("non_pie"),
            "odds ratio": table["odds_ratio"],
            "p (Fisher)": table["p_fisher"].map(lambda p: f"{p:.2g}"),
            "p (Holm)": table["p_holm"].map(lambda p: f"{p:.2g}"),
        }
    )
