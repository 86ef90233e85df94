"""The paper's reported numbers beside this population's, on common scales (the verdicts on its claims
are in ``verdicts``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import welch_error
from pruning_impact.foundations.levels import format_percent
from pruning_impact.verdicts import paper

BOOK = "this book"
CONFIDENCE = 0.95
QUANTITIES = {
    "top1_change": "top-1 change from dense",
    "significant_class_fraction": "share of classes significant (uncorrected)",
    "pie_fraction": "share of test images that are PIEs",
    "relative_corruption_change": "top-1 under corruption / clean top-1, change from dense",
}
"""The quantities ``comparable_quantities`` puts on one scale (its column name: its name in the table)."""
COMPARABLE_COLUMNS = ["quantity", "sparsity", "source", "value", "ci_low", "ci_high"]
SOURCES = ("ImageNet (paper)", "CIFAR-10 (paper)", BOOK)


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


def _difference_interval(sparse: pd.Series, dense: pd.Series) -> tuple[float, float]:
    """Welch's ``CONFIDENCE`` interval of mean(sparse) - mean(dense) over models (NaN with fewer than two
    models a side or no spread at all)."""
    a, b = sparse.to_numpy(dtype=float)[:, None], dense.to_numpy(dtype=float)[:, None]
    se, df = welch_error(a, b)
    half = se[0] * scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, df[0]) if np.isfinite(se[0]) else np.nan
    difference = a.mean() - b.mean()
    return difference - half, difference + half


def _change_rows(quantity: str, per_model: pd.DataFrame, column: str) -> list[dict]:
    """This book's change of ``column`` from the dense models to each sparse level, with its interval over
    the models of both (every dense model the table holds)."""
    dense = per_model.loc[per_model["sparsity"] == 0, column]
    rows = []
    for t, part in per_model[per_model["sparsity"] > 0].groupby("sparsity"):
        low, high = _difference_interval(part[column], dense)
        value = part[column].mean() - dense.mean()
        rows.append(
            {"quantity": quantity, "sparsity": t, "source": BOOK, "value": value, "ci_low": low, "ci_high": high}
        )
    return rows


def _corruption_rows(corruption: pd.DataFrame) -> list[dict]:
    """The change of relative top-1 under corruption from dense to each sparse level, averaged over the
    corruptions of the paper's Table 5 that ``corruption`` has: the paper's (no interval) and this book's
    (per model: mean over severities, then over those corruptions; interval over models)."""
    shared = [name for name in paper.TABLE5_CORRUPTIONS if name in set(corruption["corruption"])]
    if not shared:
        return []
    quantity = QUANTITIES["relative_corruption_change"]
    reported = paper.IMAGENET_C_TABLE5[paper.IMAGENET_C_TABLE5["corruption"].isin(shared)]
    reported = reported.pivot(index="corruption", columns="sparsity", values="relative_top1")
    rows = [
        {
            "quantity": quantity,
            "sparsity": t,
            "source": "ImageNet (paper)",
            "value": (reported[t] - reported[0.0]).mean(),
        }
        for t in reported.columns
        if t > 0
    ]
    ours = corruption[corruption["corruption"].isin(shared)]
    per_corruption = ours.groupby(["sparsity", "model", "corruption"], as_index=False)["relative_top1"].mean()
    per_model = per_corruption.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean()
    return rows + _change_rows(quantity, per_model, "relative_top1")


def comparable_quantities(
    toplines: pd.DataFrame,
    pie_counts: pd.DataFrame,
    class_summary: pd.DataFrame,
    model_accuracies: pd.DataFrame,
    num_classes: int,
    num_test: int,
    corruption: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every quantity the paper and this book both report, on one scale (fractions), one row per quantity,
    sparse level and source ("ImageNet (paper)", "CIFAR-10 (paper)", ``BOOK``): the data of the forest plot.

    The quantities are ``QUANTITIES``: the change of mean top-1 from dense (per model in
    ``model_accuracies``; its means are the top lines'), the shares of classes significant without correction
    and of test images that are PIEs (as ``paper_vs_book`` computes them from ``toplines``) and, given the
    robustness table ``corruption`` (``corruption_accuracy``, per model), the change of relative top-1 under
    the paper's Table 5 corruptions that it has (``_corruption_rows``). The paper gives no interval: its
    ``ci_low`` and ``ci_high`` are NaN. This book's ``CONFIDENCE`` intervals are Welch's over the models for
    a change (every dense model of the table against the level's K), and Wilson's over the ``num_classes``
    classes (counts of ``class_summary``) or ``num_test`` images (of ``pie_counts``) for a share: they say
    how precisely a share of that many is known, not how much it varies between training runs."""
    reported = paper.reported_fractions()
    reported = reported[reported["sparsity"] > 0]
    ours = reproduced_fractions(toplines, num_classes, num_test, BOOK).set_index("sparsity")
    counts = {
        "significant_class_fraction": (
            class_summary[class_summary["correction"] == "none"].set_index("sparsity")["n_significant"],
            num_classes,
        ),
        "pie_fraction": (pie_counts.set_index("sparsity")["n_pie"], num_test),
    }
    rows = [
        {"quantity": QUANTITIES[column], "sparsity": r["sparsity"], "source": r["source"], "value": r[column]}
        for column in ("top1_change", *counts)
        for _, r in reported.iterrows()
    ]
    rows += _change_rows(QUANTITIES["top1_change"], model_accuracies, "top1")
    for column, (found, n) in counts.items():
        for t in ours.index[ours.index > 0]:
            interval = scipy_stats.binomtest(int(found[t]), n).proportion_ci(CONFIDENCE, method="wilson")
            low, high = interval.low, interval.high
            value = ours.loc[t, column]
            rows.append(
                {
                    "quantity": QUANTITIES[column],
                    "sparsity": t,
                    "source": BOOK,
                    "value": value,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    if corruption is not None and not corruption.empty:
        rows += _corruption_rows(corruption)
    table = pd.DataFrame(rows, columns=COMPARABLE_COLUMNS).astype({"value": float, "ci_low": float, "ci_high": float})
    rank = {name: i for i, name in enumerate([*QUANTITIES.values(), *SOURCES])}
    ranks = {"quantity_rank": table["quantity"].map(rank), "source_rank": table["source"].map(rank)}
    ordered = table.assign(**ranks).sort_values(["quantity_rank", "sparsity", "source_rank"])
    return ordered[COMPARABLE_COLUMNS].reset_index(drop=True)
