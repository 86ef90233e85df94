"""The paper's claims as the book paraphrases them (``CLAIMS``), the record of one verdict (``Verdict``), the
words a verdict can be, and what every rule shares: the exact trend test and how levels are written."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd

from pruning_impact.foundations.levels import format_percent

REPRODUCED, NOT_REPRODUCED, MIXED, INCONCLUSIVE, NOT_EVALUATED = (
    "reproduced",
    "not reproduced",
    "mixed",
    "inconclusive",
    "not evaluated",
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


def levels_text(levels) -> str:
    return ", ".join(format_percent(t) for t in levels) if len(levels) else "none"


# ------------------------------------------------------------------------------------------- class level


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


def trend_verdict(label: str, sparsities, values, what: str, alpha: float, top_p: float, sizes: str = "") -> Verdict:
    """Reproduced when the statistic grows with sparsity (``trend_p`` at ``alpha``) and the most sparse
    level's own effect is significant (``top_p``, Holm-adjusted): growth presupposes an effect. Not
    reproduced when it significantly declines; inconclusive otherwise."""
    up, down = trend_p(sparsities, values)
    if np.isnan(up):
        return Verdict(label, CLAIMS[label], INCONCLUSIVE, "fewer than three sparse levels", sizes)
    shown = ", ".join(f"{format_percent(t)}: {v:.3g}" for t, v in zip(sparsities, values, strict=True))
    text = (
        f"{what} by level ({shown}); permutation p = {up:.3g} for growth, {down:.3g} for decline over "
        f"the orderings of the levels; effect at {format_percent(max(sparsities))}: p = {top_p:.3g}"
    )
    rests = levels_text(sparsities)
    if up <= alpha and top_p <= alpha:
        return Verdict(label, CLAIMS[label], REPRODUCED, text, sizes, rests)
    if down <= alpha:
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    return Verdict(label, CLAIMS[label], INCONCLUSIVE, text, sizes, rests)


# ---------------------------------------------------------------------------------------------- PIEs


# ----------------------------------------------------------------------------------------- robustness


# --------------------------------------------------------------------------------------------- all


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
