"""The paper's claims as the book paraphrases them (``CLAIMS``), the record of one verdict (``Verdict``), the
words a verdict can be, and what every rule shares: the exact trend test and how levels are written."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd

from pruning_impact.foundations.levels import format_percent

REPRODUCED, NOT_REPRODUCED, MIXED, INCONCLUSIVE, NOT_EVALUATED, NOT_TESTABLE = (
    "reproduced",
    "not reproduced",
    "mixed",
    "inconclusive",
    "not evaluated",
    "not testable here",
)


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
    "1r": "Of the classes pruning affects, more gain than lose relative to the model's average.",
    "2a": "Pruning changes the population's label on more images than chance (PIE counts above the noise floor).",
    "2": "PIEs are harder than random test images and than non-PIE images, for dense and for sparse models.",
    "2s": "Beyond the paper: the hardness is specific to pruning (PIEs are harder than images that two populations "
    "disagree on by chance, at the same vote margin).",
    "2t": "The number of PIEs grows with sparsity.",
    "2l": "PIEs found at the lowest sparsity are harder than those found at the highest.",
    "3a": "Pruned models are less robust to image corruptions (the corruptions of the paper's Table 5).",
    "3a-all": "Pruned models are less robust to image corruptions (every corruption evaluated here).",
    "3c": "Noise corruptions cost pruned models the most robustness.",
    "3b": "Pruned models are less robust to adversarial examples (here white-box FGSM and PGD attacks).",
    "3n": "Pruned models are less robust to natural adversarial examples (ImageNet-A).",
}


def levels_text(levels) -> str:
    return ", ".join(format_percent(t) for t in levels) if len(levels) else "none"


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


def trend_verdict(
    label: str,
    sparsities,
    values,
    what: str,
    alpha: float,
    top_p: float,
    sizes: str = "",
    p: tuple[float, float, str] | None = None,
) -> Verdict:
    """Reproduced when the statistic grows with sparsity (one-sided p at ``alpha``: ``trend_p`` over the
    orderings of the levels, or ``p`` = (growth, decline, how) computed by the caller) and the most sparse
    level's own effect is significant (``top_p``, Holm-adjusted): growth presupposes an effect. Not
    reproduced when it significantly declines; inconclusive otherwise."""
    up, down = trend_p(sparsities, values)
    how = "over the orderings of the levels"
    if np.isnan(up):
        return Verdict(label, CLAIMS[label], NOT_TESTABLE, "fewer than three sparse levels with a value", sizes)
    if p is not None:
        up, down, how = p
    elif 1 / math.factorial(len(sparsities)) > alpha:
        reason = f"{len(sparsities)} levels have {math.factorial(len(sparsities))} orderings: p cannot reach {alpha}"
        return Verdict(label, CLAIMS[label], NOT_TESTABLE, reason, sizes)
    shown = ", ".join(f"{format_percent(t)}: {v:.3g}" for t, v in zip(sparsities, values, strict=True))
    text = (
        f"{what} by level ({shown}); permutation p = {up:.3g} for growth, {down:.3g} for decline {how}; "
        f"effect at {format_percent(max(sparsities))}: p = {top_p:.3g}"
    )
    rests = levels_text(sparsities)
    if up <= alpha and top_p <= alpha:
        return Verdict(label, CLAIMS[label], REPRODUCED, text, sizes, rests)
    if down <= alpha:
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    return Verdict(label, CLAIMS[label], INCONCLUSIVE, text, sizes, rests)


def headline(statistic: str) -> str:
    """The first clause of a verdict's statistic: the one line a compact table shows."""
    return statistic.split("; ")[0]


def verdict_table(verdicts: list[Verdict], stability: pd.DataFrame | None = None) -> pd.DataFrame:
    """The compact verdict table: claim, the paper's claim, verdict, its stability (the share of resampled
    populations that repeat it, from ``stability.verdict_stability``) and the statistic's first clause."""
    shares = {} if stability is None else dict(zip(stability["label"], stability["same_share"], strict=True))
    return pd.DataFrame(
        [
            {
                "claim": v.label,
                "the paper's claim (paraphrased)": v.claim,
                "verdict": v.verdict,
                "stability": shares.get(v.label, float("nan")),
                "statistic": headline(v.statistic),
            }
            for v in verdicts
        ]
    )


def evidence_table(verdicts: list[Verdict]) -> pd.DataFrame:
    """Every verdict's full evidence: the statistic, the population sizes and the level(s) it rests on."""
    return pd.DataFrame(
        [
            {"claim": v.label, "verdict": v.verdict, "evidence": v.statistic, "sizes": v.sizes, "rests on": v.rests_on}
            for v in verdicts
        ]
    )
