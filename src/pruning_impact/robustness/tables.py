"""Tables of the robustness evaluation, from per-example predictions held in memory: pure functions of
arrays and DataFrames (no models, no files), so they can be tested by hand and reused on predictions
from anywhere. ``Run`` is a model's (sparsity, index)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.pie import modal_labels
from pruning_impact.foundations.dense_split import DenseSplit

Run = tuple[float, int]
TABLES = ("corruption_accuracy", "adversarial_accuracy", "example_flips", "natural_accuracy")
NATURAL_COLUMNS = ["set", "sparsity", "model", "top1", "top5", "top1_restricted"]
NATURAL_RELATIVE_COLUMNS = ["sparsity", "model", "set", "relative_top1", "relative_top5"]
TABLE5_COLUMNS = ["top1", "top5", "relative_top1", "relative_top5"]
PIE_FLIP_COLUMNS = ["sparsity", "n_pie", "n_non_pie", "pie_flip_rate", "non_pie_flip_rate", "u_statistic", "p_value"]


def top1_accuracy(top1: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(top1) == labels).mean())


def top5_accuracy(top5: np.ndarray, labels: np.ndarray) -> float:
    """Share of examples whose label is among the top-k classes ([n, k])."""
    return float((np.asarray(top5) == labels[:, None]).any(axis=1).mean())


def corruption_table(
    clean: Mapping[Run, np.ndarray],
    corrupted: Mapping[Run, Mapping[tuple[str, int], np.ndarray]],
    labels: np.ndarray,
    sources: Mapping[str, str],
) -> pd.DataFrame:
    """Table 5's rows per model: top-1 and top-5 on each (corruption, severity) beside the model's clean
    top-1 and top-5 on the same images, and relative to them. ``clean`` and ``corrupted`` hold top-5
    classes [n, 5] per model; ``sources`` says where each corruption came from."""
    rows = []
    for (sparsity, index), top5 in clean.items():
        clean_top1, clean_top5 = top1_accuracy(top5[:, 0], labels), top5_accuracy(top5, labels)
        for (name, severity), predictions in corrupted[(sparsity, index)].items():
            rows.append(
                {
                    "sparsity": sparsity,
                    "model": index,
                    "corruption": name,
                    "severity": severity,
                    "top1": top1_accuracy(predictions[:, 0], labels),
                    "top5": top5_accuracy(predictions, labels),
                    "clean_top1": clean_top1,
                    "clean_top5": clean_top5,
                }
            )
    table = pd.DataFrame(rows)
    table["source"] = table["corruption"].map(sources)
    table["relative_top1"] = table["top1"] / table["clean_top1"]
    table["relative_top5"] = table["top5"] / table["clean_top5"]
    return table


def adversarial_table(
    clean: Mapping[Run, np.ndarray], attacked: Mapping[Run, Mapping[tuple[str, float], np.ndarray]], labels: np.ndarray
) -> pd.DataFrame:
    """Top-1 of every model under each (attack, epsilon), beside its clean top-1 on the same images;
    ``clean`` and ``attacked`` hold top-1 classes [n] per model."""
    rows = []
    for run, top1 in clean.items():
        clean_top1 = top1_accuracy(top1, labels)
        for (attack, epsilon), predictions in attacked[run].items():
            rows.append(
                {
                    "sparsity": run[0],
                    "model": run[1],
                    "attack": attack,
                    "epsilon": epsilon,
                    "top1": top1_accuracy(predictions, labels),
                    "clean_top1": clean_top1,
                }
            )
    return pd.DataFrame(rows)


def example_flips(
    clean: list[np.ndarray],
    corrupted: Mapping[tuple[str, int], list[np.ndarray]],
    indices: np.ndarray,
    labels: np.ndarray,
) -> pd.DataFrame:
    """Per test image of the subsample: the share of corrupted sets on which the dense models' modal label
    differs from their modal label on the clean image. ``clean``: top-1 [n] of each dense model;
    ``corrupted``: per (corruption, severity), the top-1 of each dense model."""
    dense_clean = modal_labels(np.stack(clean))
    flip_rate = np.mean([modal_labels(np.stack(p)) != dense_clean for p in corrupted.values()], axis=0)
    return pd.DataFrame({"index": indices, "label": labels, "dense_flip_rate": flip_rate})


def natural_table(
    set_name: str | None,
    top5: Mapping[Run, np.ndarray],
    labels: Mapping[Run, np.ndarray],
    restricted: Mapping[Run, np.ndarray | None],
) -> pd.DataFrame:
    """Top-1 and top-5 of every model on a natural distribution-shift set, and top-1 restricted to the
    set's classes where that applies (ImageNet-A); an empty table when there is no such set."""
    rows = [
        {
            "set": set_name,
            "sparsity": run[0],
            "model": run[1],
            "top1": top1_accuracy(top5[run][:, 0], labels[run]),
            "top5": top5_accuracy(top5[run], labels[run]),
            "top1_restricted": np.nan if restricted[run] is None else top1_accuracy(restricted[run], labels[run]),
        }
        for run in top5
    ]
    return pd.DataFrame(rows, columns=NATURAL_COLUMNS)


def per_model_relative(corruption: pd.DataFrame) -> pd.DataFrame:
    """Each model's relative top-1 averaged over corruptions and severities (for the verdict on finding 3)."""
    return corruption.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean()


def level_means(per_model: pd.DataFrame, split: DenseSplit, column: str = "relative_top1") -> pd.Series:
    """Per level, the mean of ``column`` over the models that stand for it: every model of a sparse level, the
    dense reference of ``split`` (the population's ``dense_split``) for the dense level."""
    dense = per_model["sparsity"] == 0
    in_reference = per_model["model"].between(split.reference.start, split.reference.stop - 1)
    return per_model[~dense | in_reference].groupby("sparsity")[column].mean()


def table5(corruption: pd.DataFrame) -> pd.DataFrame:
    """Table 5: per corruption and sparsity, the mean over models of each model's mean over severities of
    top-1 and top-5, absolute (``top1``, ``top5``) and relative to the model's clean accuracy
    (``relative_top1``, ``relative_top5``), as the paper's Table 5 columns are."""
    per_model = corruption.groupby(["corruption", "sparsity", "model"], as_index=False)[TABLE5_COLUMNS].mean()
    return per_model.groupby(["corruption", "sparsity"], as_index=False)[TABLE5_COLUMNS].mean()


def natural_relative(natural: pd.DataFrame, clean: pd.DataFrame) -> pd.DataFrame:
    """Figure 7 (left): each model's top-1 and top-5 on the natural distribution-shift set (the
    ``natural_accuracy`` table) relative to its own clean top-1 and top-5. ``clean`` holds sparsity, model,
    clean_top1 and clean_top5 per model: the analysis's ``model_accuracies`` (whole test set) with top1 and
    top5 renamed, or the same columns of the corruption table (its subsample). Returns sparsity, model,
    set, relative_top1, relative_top5; an empty table when ``natural`` is empty, and a ``ValueError`` when a
    model of ``natural`` has no clean accuracy."""
    if natural.empty:
        return pd.DataFrame(columns=NATURAL_RELATIVE_COLUMNS)
    missing = {"sparsity", "model", "clean_top1", "clean_top5"} - set(clean.columns)
    if missing:
        raise ValueError(f"the clean accuracies lack the columns {', '.join(sorted(missing))}")
    keys = ["sparsity", "model"]
    clean = clean[keys + ["clean_top1", "clean_top5"]].drop_duplicates(keys)
    table = natural.merge(clean, on=keys, how="left", validate="many_to_one")
    lacking = table[table["clean_top1"].isna()]
    if len(lacking):
        first = lacking.iloc[0]
        raise ValueError(
            f"no clean accuracy for the model {int(first['model'])} of sparsity {first['sparsity']:g} "
            f"({len(lacking)} rows of the natural table lack one)"
        )
    table["relative_top1"] = table["top1"] / table["clean_top1"]
    table["relative_top5"] = table["top5"] / table["clean_top5"]
    return table[NATURAL_RELATIVE_COLUMNS].sort_values(["set", "sparsity", "model"], ignore_index=True)


def pie_flip_test(example_flips: pd.DataFrame, pie: np.ndarray) -> dict:
    """Do PIEs flip more under corruption? Mean dense flip rate of PIEs and non-PIEs in the subsample, and a
    one-sided Mann-Whitney U test (PIEs flip more). ``pie`` is the PIE mask over the whole test set."""
    in_pie = np.asarray(pie, dtype=bool)[example_flips["index"].to_numpy()]
    rates = example_flips["dense_flip_rate"].to_numpy()
    if in_pie.sum() == 0 or (~in_pie).sum() == 0:
        return {
            "n_pie": int(in_pie.sum()),
            "n_non_pie": int((~in_pie).sum()),
            "pie_flip_rate": np.nan,
            "non_pie_flip_rate": np.nan,
            "u_statistic": np.nan,
            "p_value": np.nan,
        }
    test = scipy_stats.mannwhitneyu(rates[in_pie], rates[~in_pie], alternative="greater")
    return {
        "n_pie": int(in_pie.sum()),
        "n_non_pie": int((~in_pie).sum()),
        "pie_flip_rate": float(rates[in_pie].mean()),
        "non_pie_flip_rate": float(rates[~in_pie].mean()),
        "u_statistic": float(test.statistic),
        "p_value": float(test.pvalue),
    }


def pie_flip_table(example_flips: pd.DataFrame, examples: pd.DataFrame) -> pd.DataFrame:
    """``pie_flip_test`` for PIE_t at every sparse level of the long ``examples`` table (example, sparsity,
    is_pie, ...), one row per level."""
    rows = []
    for sparsity, level in examples[examples["sparsity"] > 0].groupby("sparsity", sort=True):
        pie = np.zeros(int(examples["example"].max()) + 1, dtype=bool)
        pie[level.loc[level["is_pie"].astype(bool), "example"].to_numpy()] = True
        rows.append({"sparsity": sparsity, **pie_flip_test(example_flips, pie)})
    return pd.DataFrame(rows, columns=PIE_FLIP_COLUMNS)
