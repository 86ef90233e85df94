"""The paper's reported numbers beside this population's, on common scales (the verdicts on its claims
are in ``verdicts``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pruning_impact.foundations.levels import format_percent
from pruning_impact.verdicts import paper


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
            "ImageNet-C, t = 0% (paper)": [reported[(n, 0.0)] for n in names],
            "ImageNet-C, t = 90% (paper)": [reported[(n, 0.9)] for n in names],
            f"{label}, t = 0%": [ours[(n, 0.0)] for n in names],
            f"{label}, t = {format_percent(top_t)}": [ours[(n, top_t)] for n in names],
        }
    )


def shifts_vs_paper(shift_comparison: pd.DataFrame, label: str) -> pd.DataFrame:
    """Significant classes per sparsity (uncorrected) as the paper's Tables 1 and 4 report them, beside this
    population's under both shifts: each model's own top-1 (the paper's text) and its population's mean
    top-1 (the authors' code). Cells read "# signif. (# incr. / # decr.)"."""

    def cell(table: pd.DataFrame, t: float) -> str:
        if t not in table.index:
            return "-"
        row = table.loc[t]
        return f"{int(row['n_increase'] + row['n_decrease'])} ({int(row['n_increase'])} / {int(row['n_decrease'])})"

    reported = {
        "ImageNet (paper)": paper.IMAGENET_CLASS_SUMMARY.set_index("sparsity"),
        "CIFAR-10 (paper)": paper.CIFAR10_CLASS_SUMMARY.set_index("sparsity"),
    }
    ours = {f"{label}, shift: {shift}": part.set_index("sparsity") for shift, part in shift_comparison.groupby("shift")}
    levels = sorted(set(shift_comparison["sparsity"]) | set(paper.IMAGENET_CLASS_SUMMARY["sparsity"]))
    return pd.DataFrame(
        {"t": levels, **{name: [cell(table, t) for t in levels] for name, table in {**reported, **ours}.items()}}
    )
