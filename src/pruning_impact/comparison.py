"""The paper's three findings, each judged from this population's tables: reproduced, not reproduced
or inconclusive, with the statistic behind the verdict. Rules are fixed in code, never by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from . import paper

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_EVALUATED = (
    "reproduced",
    "not reproduced",
    "inconclusive",
    "not evaluated",
)

FINDINGS = {
    1: "Pruning does not hit all classes alike: some classes lose (or gain) accuracy relative to the model's average.",
    2: "The examples whose prediction pruning changes (PIEs) are harder for dense and pruned models alike.",
    3: "Pruned models are less robust to image corruptions and adversarial examples.",
}


@dataclass(frozen=True)
class Verdict:
    number: int
    finding: str
    verdict: str
    statistic: str


def class_finding(class_summary: pd.DataFrame, aa_calibration: pd.DataFrame, correction: str) -> Verdict:
    """Reproduced when, after ``correction``, more classes are significant at some sparsity than in any
    dense-vs-dense split; not reproduced when even the uncorrected counts stay within the 95% range of
    the dense-vs-dense splits at every sparsity; inconclusive otherwise."""

    def observed(corr: str) -> pd.Series:
        return class_summary[class_summary["correction"] == corr].set_index("sparsity")["n_significant"]

    def chance(corr: str) -> pd.Series:
        return aa_calibration.loc[aa_calibration["correction"] == corr, "n_significant"]

    corrected, raw = observed(correction), observed("none")
    if corrected.empty or raw.empty or chance("none").empty:
        return Verdict(1, FINDINGS[1], INCONCLUSIVE, "too few models for the test and its dense-vs-dense calibration")
    best_t = corrected.idxmax()
    chance_max = chance(correction).max() if not chance(correction).empty else np.nan
    raw_high = np.percentile(chance("none"), 97.5)
    text = (
        f"most significant classes after {correction}: {corrected.max()} at t = {best_t:.2f} "
        f"(dense-vs-dense splits: at most {chance_max:.0f}); uncorrected: {raw.max()} at t = {raw.idxmax():.2f} "
        f"(dense-vs-dense 97.5th percentile: {raw_high:.1f})"
    )
    if corrected.max() >= 1 and corrected.max() > chance_max:
        return Verdict(1, FINDINGS[1], REPRODUCED, text)
    if (raw <= raw_high).all():
        return Verdict(1, FINDINGS[1], NOT_REPRODUCED, text)
    return Verdict(1, FINDINGS[1], INCONCLUSIVE, text)


def pie_finding(pie_counts: pd.DataFrame, noise_floor: pd.DataFrame, evaluation: pd.DataFrame) -> Verdict:
    """Reproduced when the PIE count at the highest sparsity exceeds the dense-vs-dense 97.5th percentile
    and, for every t with PIEs, both the dense and the t-sparse models score below the 95% interval of
    random samples of the same size on PIE_t; not reproduced when the dense models score on PIE_t at
    least their random-sample mean for some t; inconclusive otherwise."""
    if pie_counts.empty or evaluation.empty:
        return Verdict(2, FINDINGS[2], INCONCLUSIVE, "no PIE was found")
    highest = pie_counts.loc[pie_counts["sparsity"].idxmax()]
    floor_high = np.percentile(noise_floor["n_pie"], 97.5) if len(noise_floor) else np.nan
    harder, easier, details = True, False, []
    for t in sorted(evaluation["pie_sparsity"].unique()):
        for model_t in (0.0, t):
            rows = evaluation[(evaluation["pie_sparsity"] == t) & (evaluation["model_sparsity"] == model_t)]
            pie_row, random_row = rows[rows["subset"] == "pie"], rows[rows["subset"] == "random"]
            if pie_row.empty or random_row.empty:
                continue
            pie_acc, random_low = pie_row["top1_mean"].iloc[0], random_row["ci_low"].iloc[0]
            harder &= bool(pie_acc < random_low)
            if model_t == 0.0:
                easier |= bool(pie_acc >= random_row["top1_mean"].iloc[0])
                details.append(
                    f"t = {t:.2f}: dense {pie_acc:.3f} on PIEs vs {random_row['top1_mean'].iloc[0]:.3f} on random"
                )
    excess = bool(highest["n_pie"] > floor_high)
    text = (
        f"{int(highest['n_pie'])} PIEs at t = {highest['sparsity']:.2f} vs a dense-vs-dense 97.5th percentile of "
        f"{floor_high:.1f}; " + "; ".join(details)
    )
    if excess and harder:
        return Verdict(2, FINDINGS[2], REPRODUCED, text)
    if easier:
        return Verdict(2, FINDINGS[2], NOT_REPRODUCED, text)
    return Verdict(2, FINDINGS[2], INCONCLUSIVE, text)


def robustness_finding(robustness: pd.DataFrame | None, alpha: float = 0.05) -> Verdict:
    """From per-model robustness (columns ``sparsity``, ``model``, ``relative_top1``: corrupted top-1 over
    clean top-1, averaged over corruptions): reproduced when the most sparse models keep significantly
    less of their accuracy than the dense ones (one-sided Welch's t-test at ``alpha``), not reproduced
    when they keep as much or more on average, inconclusive otherwise. Without such a table the
    finding is not evaluated."""
    if robustness is None or robustness.empty:
        return Verdict(3, FINDINGS[3], NOT_EVALUATED, "no robustness tables for this population yet")
    highest = robustness["sparsity"].max()
    dense = robustness.loc[robustness["sparsity"] == 0, "relative_top1"].to_numpy()
    sparse = robustness.loc[robustness["sparsity"] == highest, "relative_top1"].to_numpy()
    if len(dense) < 2 or len(sparse) < 2 or highest == 0:
        return Verdict(3, FINDINGS[3], INCONCLUSIVE, "fewer than two models on a side")
    test = scipy_stats.ttest_ind(sparse, dense, equal_var=False, alternative="less")
    text = (
        f"relative top-1 under corruption: dense {dense.mean():.3f}, t = {highest:.2f} {sparse.mean():.3f} "
        f"(one-sided Welch p = {test.pvalue:.2g}, K = {len(dense)} and {len(sparse)})"
    )
    if test.pvalue < alpha:
        return Verdict(3, FINDINGS[3], REPRODUCED, text)
    if sparse.mean() >= dense.mean():
        return Verdict(3, FINDINGS[3], NOT_REPRODUCED, text)
    return Verdict(3, FINDINGS[3], INCONCLUSIVE, text)


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"finding": v.number, "claim (paraphrased)": v.finding, "verdict": v.verdict, "evidence": v.statistic}
            for v in verdicts
        ]
    )


def reproduced_fractions(toplines: pd.DataFrame, num_classes: int, num_test: int, label: str) -> pd.DataFrame:
    """This population's top lines on the paper's common scale (see ``paper.reported_fractions``)."""
    dense = toplines.loc[toplines["sparsity"] == 0, "top1_mean"].iloc[0]
    return pd.DataFrame(
        {
            "source": label,
            "sparsity": toplines["sparsity"],
            "top1": toplines["top1_mean"],
            "top1_change": toplines["top1_mean"] - dense,
            "significant_class_fraction": toplines["n_significant_none"] / num_classes,
            "pie_fraction": toplines["n_pie"] / num_test,
        }
    )


def paper_vs_book(toplines: pd.DataFrame, num_classes: int, num_test: int, label: str) -> pd.DataFrame:
    """Paper (ImageNet, CIFAR-10) and this book side by side, one row per sparsity and source."""
    return pd.concat(
        [paper.reported_fractions(), reproduced_fractions(toplines, num_classes, num_test, label)], ignore_index=True
    )


def class_summary_vs_paper(class_summary: pd.DataFrame, label: str) -> pd.DataFrame:
    """The paper's CIFAR-10 class-level summary (its Table 4) beside this population's, both uncorrected."""
    ours = class_summary[class_summary["correction"] == "none"].set_index("sparsity")
    reported = paper.CIFAR10_CLASS_SUMMARY.set_index("sparsity")

    def counts(table: pd.DataFrame, t: float) -> str:
        return f"{int(table.loc[t, 'n_increase'])} / {int(table.loc[t, 'n_decrease'])}" if t in table.index else "-"

    return pd.DataFrame(
        {
            "t": reported.index,
            "model acc. diff. (CIFAR-10, paper)": reported["model_accuracy_difference"].to_numpy(),
            "# incr. / # decr. (paper)": [counts(reported, t) for t in reported.index],
            f"model acc. diff. ({label})": [ours["model_accuracy_difference"].get(t, np.nan) for t in reported.index],
            f"# incr. / # decr. ({label})": [counts(ours, t) for t in reported.index],
        }
    )


def robustness_vs_paper(table5: pd.DataFrame, label: str) -> pd.DataFrame:
    """Relative top-1 under each corruption: the paper's ImageNet-C (its Table 5) at t = 0 and 0.9 beside
    this population's dense and most sparse models, for the corruptions both have."""
    reported = paper.IMAGENET_C_TABLE5.set_index(["corruption", "sparsity"])["relative_top1"]
    ours = table5.set_index(["corruption", "sparsity"])["relative_top1"]
    top_t = table5["sparsity"].max()
    names = sorted(set(paper.IMAGENET_C_TABLE5["corruption"]) & set(table5["corruption"]))
    return pd.DataFrame(
        {
            "corruption": [n.replace("_", " ") for n in names],
            "ImageNet-C, t = 0 (paper)": [reported[(n, 0.0)] for n in names],
            "ImageNet-C, t = 0.9 (paper)": [reported[(n, 0.9)] for n in names],
            f"{label}, t = 0": [ours[(n, 0.0)] for n in names],
            f"{label}, t = {top_t:.2f}": [ours[(n, top_t)] for n in names],
        }
    )
