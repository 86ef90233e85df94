"""Class-level disparate impact (the paper's Section 2.1): per-class Welch's t-tests of mean-shifted
class accuracy between a dense and a sparse population, their summary across sparsities (Tables 1
and 4), a null calibration by dense-vs-dense ("A/A") tests, and top-line tables (Tables 2 and 3).

Works on plain arrays: predictions [K, N] of integer class indices and labels [N], from any source.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.foundations import options
from pruning_impact.foundations.top_k import top_k_correct

CORRECTIONS_OR_NONE = (None, *options.CORRECTIONS)
SHIFTS = options.SHIFTS


def check_predictions(
    predictions, labels, num_classes: int | None = None, name: str = "predictions"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return (predictions [K, N] int64, labels [N] int64); raise ValueError saying what is wrong."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    for array, what in ((predictions, name), (labels, "labels")):
        if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
            raise ValueError(f"{what} must hold integer class indices, got dtype {array.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional [N], got shape {labels.shape}")
    if predictions.ndim != 2:
        raise ValueError(f"{name} must be [K models, N examples], got shape {predictions.shape}")
    if predictions.shape[1] != len(labels):
        raise ValueError(
            f"{name} cover {predictions.shape[1]} examples but there are {len(labels)} labels; "
            "they must line up example by example"
        )
    if num_classes is not None:
        for array, what in ((labels, "labels"), (predictions, name)):
            if array.size and (array.min() < 0 or array.max() >= num_classes):
                raise ValueError(
                    f"{what} hold class indices outside [0, {num_classes}): min {array.min()}, max {array.max()}"
                )
    return predictions.astype(np.int64, copy=False), labels.astype(np.int64, copy=False)


def model_accuracies(predictions, labels) -> np.ndarray:
    """Top-1 accuracy of each model, [K] (the paper's beta^M)."""
    predictions, labels = check_predictions(predictions, labels)
    return (predictions == labels).mean(axis=1)


def class_accuracies(predictions, labels, num_classes: int) -> np.ndarray:
    """Per-model, per-class accuracy (recall) [K, C] (the paper's beta^c); NaN for a class without examples."""
    predictions, labels = check_predictions(predictions, labels, num_classes)
    k = len(predictions)
    correct = (predictions == labels).ravel()
    cell = (labels[None, :] + num_classes * np.arange(k)[:, None]).ravel()
    hits = np.bincount(cell, weights=correct, minlength=k * num_classes).reshape(k, num_classes)
    counts = np.bincount(labels, minlength=num_classes).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / np.where(counts > 0, counts, np.nan)


def adjust_p_values(p_values: np.ndarray, correction: str | None) -> np.ndarray:
    """Multiple-comparison adjusted p-values (NaN stays NaN): None, Benjamini-Hochberg or Bonferroni."""
    p = np.asarray(p_values, dtype=float)
    if correction is None:
        return p.copy()
    valid = ~np.isnan(p)
    m = int(valid.sum())
    out = np.full_like(p, np.nan)
    if correction == "bonferroni":
        out[valid] = np.minimum(p[valid] * m, 1.0)
    elif correction == "fdr_bh":
        order = np.argsort(p[valid])
        ranked = p[valid][order] * m / np.arange(1, m + 1)
        adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
        result = np.empty(m)
        result[order] = np.minimum(adjusted, 1.0)
        out[valid] = result
    else:
        raise ValueError(f"unknown correction {correction!r}; use one of {CORRECTIONS_OR_NONE}")
    return out


def _welch(sparse_shifted: np.ndarray, dense_shifted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Welch's t-test per column; NaN where a side has < 2 models or both sides have zero variance."""
    num_classes = dense_shifted.shape[1]
    if len(sparse_shifted) < 2 or len(dense_shifted) < 2:
        return np.full(num_classes, np.nan), np.full(num_classes, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        t, p = scipy_stats.ttest_ind(sparse_shifted, dense_shifted, axis=0, equal_var=False)
    degenerate = (sparse_shifted.var(axis=0) == 0) & (dense_shifted.var(axis=0) == 0)
    t, p = np.where(degenerate, np.nan, t), np.where(degenerate, np.nan, p)
    return t, p


def welch_error(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the standard error of mean(a) - mean(b) and its Welch-Satterthwaite degrees of
    freedom (NaN where a side has < 2 rows or both variances are 0), for equivalence tests."""
    if len(a) < 2 or len(b) < 2:
        nan = np.full(a.shape[1], np.nan)
        return nan, nan.copy()
    va, vb = a.var(axis=0, ddof=1) / len(a), b.var(axis=0, ddof=1) / len(b)
    se2 = va + vb
    with np.errstate(invalid="ignore", divide="ignore"):
        df = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return np.where(se2 > 0, np.sqrt(se2), np.nan), np.where(se2 > 0, df, np.nan)


def _shift_by(predictions: np.ndarray, labels: np.ndarray, shift: str) -> np.ndarray:
    """What is subtracted from each model's class accuracies: its own top-1 [K, 1], or its population's mean."""
    accuracy = (predictions == labels).mean(axis=1)[:, None]
    return accuracy if shift == "model" else np.full_like(accuracy, accuracy.mean())


def class_level_tests(
    dense,
    sparse,
    labels,
    num_classes: int,
    alpha: float = 0.05,
    correction: str | None = None,
    class_names: list[str] | tuple[str, ...] | None = None,
    shift: str = "model",
) -> pd.DataFrame:
    """The paper's per-class test of disparate impact, one row per class.

    For each class c, a two-sided Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) of the
    sparse models' mean-shifted class accuracies S_t^c against the dense models' S_0^c. ``t_statistic``
    is positive when the class fares better, relative to its model, after pruning.
    ``normalized_recall_difference`` is Eq. 1, mean(S_t^c) - mean(S_0^c); ``absolute_recall_difference``
    is the plain difference of mean class accuracies. ``correction`` (None as in the paper, "fdr_bh"
    or "bonferroni") adjusts the p-values over the C classes; ``significant`` is p_adjusted <= alpha.

    ``shift`` says what is subtracted from a model's class accuracy: ``model``, the model's own top-1
    (the paper's text, Section 2.1), or ``population``, the mean top-1 of its population (the authors'
    released code). The normalized difference is the same; the t-statistics differ.

    Where a class has zero variance in both samples, or a side has fewer than 2 models, the test is
    undefined: ``p_value`` is NaN and the class is not significant.
    """
    if shift not in SHIFTS:
        raise ValueError(f"unknown shift {shift!r}; use one of {SHIFTS}")
    if correction not in CORRECTIONS_OR_NONE:
        raise ValueError(f"unknown correction {correction!r}; use one of {CORRECTIONS_OR_NONE}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha} must lie in (0, 1)")
    dense, labels = check_predictions(dense, labels, num_classes, "dense predictions")
    sparse, _ = check_predictions(sparse, labels, num_classes, "sparse predictions")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} class names given for {num_classes} classes")
    dense_acc, sparse_acc = class_accuracies(dense, labels, num_classes), class_accuracies(sparse, labels, num_classes)
    dense_shift = dense_acc - _shift_by(dense, labels, shift)
    sparse_shift = sparse_acc - _shift_by(sparse, labels, shift)
    t, p = _welch(sparse_shift, dense_shift)
    standard_error, df = welch_error(sparse_shift, dense_shift)
    p_adjusted = adjust_p_values(p, correction)
    table = pd.DataFrame(
        {
            "class": np.arange(num_classes),
            "class_name": list(class_names) if class_names is not None else [str(c) for c in range(num_classes)],
            "dense_class_accuracy": dense_acc.mean(axis=0),
            "sparse_class_accuracy": sparse_acc.mean(axis=0),
            "normalized_recall_difference": sparse_shift.mean(axis=0) - dense_shift.mean(axis=0),
            "absolute_recall_difference": sparse_acc.mean(axis=0) - dense_acc.mean(axis=0),
            "t_statistic": t,
            "standard_error": standard_error,
            "df": df,
            "p_value": p,
            "p_adjusted": p_adjusted,
        }
    )
    table["significant"] = np.nan_to_num(p_adjusted, nan=1.0) <= alpha
    table["correction"] = correction or "none"
    return table


def summarize_class_tests(table: pd.DataFrame, model_accuracy_difference: float) -> dict:
    """One row of Tables 1 and 4: counts of significant increases and decreases and the extreme classes."""
    significant = table[table["significant"]]
    up = significant[significant["normalized_recall_difference"] > 0]
    down = significant[significant["normalized_recall_difference"] < 0]
    top = up.loc[up["normalized_recall_difference"].idxmax()] if len(up) else None
    bottom = down.loc[down["normalized_recall_difference"].idxmin()] if len(down) else None
    return {
        "model_accuracy_difference": model_accuracy_difference,
        "n_significant": len(significant),
        "n_increase": len(up),
        "n_decrease": len(down),
        "largest_increase_class": None if top is None else top["class_name"],
        "largest_increase": np.nan if top is None else float(top["normalized_recall_difference"]),
        "largest_decrease_class": None if bottom is None else bottom["class_name"],
        "largest_decrease": np.nan if bottom is None else float(bottom["normalized_recall_difference"]),
    }


def class_level_summary(
    dense,
    sparse_by_level: Mapping[float, np.ndarray],
    labels,
    num_classes: int,
    alpha: float = 0.05,
    corrections=(None, "fdr_bh"),
    class_names=None,
    shift: str = "model",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 1 and 4 for every sparsity and correction, plus every per-class row behind them.

    Returns (summary: one row per sparsity and correction; tests: one row per sparsity, correction, class).
    """
    dense, labels = check_predictions(dense, labels, num_classes, "dense predictions")
    dense_mean = (dense == labels).mean()
    summaries, tests = [], []
    for sparsity, sparse in sparse_by_level.items():
        sparse, _ = check_predictions(sparse, labels, num_classes, f"predictions at sparsity {sparsity}")
        difference = float((sparse == labels).mean() - dense_mean)
        for correction in corrections:
            table = class_level_tests(dense, sparse, labels, num_classes, alpha, correction, class_names, shift)
            table.insert(0, "sparsity", sparsity)
            tests.append(table)
            summaries.append(
                {
                    "sparsity": sparsity,
                    "correction": correction or "none",
                    "k_dense": len(dense),
                    "k_sparse": len(sparse),
                    **summarize_class_tests(table, difference),
                }
            )
    return pd.DataFrame(summaries), pd.concat(tests, ignore_index=True)


def disjoint_splits(k_total: int, half_size: int, repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``repeats`` seeded random splits of ``k_total`` models into two disjoint groups of ``half_size``."""
    if half_size < 1 or 2 * half_size > k_total:
        raise ValueError(
            f"cannot draw two disjoint groups of {half_size} from {k_total} models; "
            f"the dense population needs at least {2 * max(half_size, 1)} models"
        )
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(repeats):
        order = rng.permutation(k_total)
        splits.append((np.sort(order[:half_size]), np.sort(order[half_size : 2 * half_size])))
    return splits


def null_calibration(
    dense,
    labels,
    num_classes: int,
    half_size: int | None = None,
    repeats: int = 20,
    seed: int = 0,
    alpha: float = 0.05,
    corrections=(None, "fdr_bh"),
    shift: str = "model",
) -> pd.DataFrame:
    """The A/A test: significant classes between two disjoint random halves of the dense population.

    With no effect to find, this is how many classes the test calls significant by chance at these
    population sizes. One row per repeat and correction; summarize with ``calibration_summary``.
    """
    dense, labels = check_predictions(dense, labels, num_classes, "dense predictions")
    if len(dense) < 4:
        raise ValueError(f"the A/A calibration needs K >= 4 dense models (two halves of >= 2), got K = {len(dense)}")
    half_size = half_size or len(dense) // 2
    if half_size < 2:
        raise ValueError(f"half_size {half_size} must be >= 2 for a t-test")
    accuracy = class_accuracies(dense, labels, num_classes)  # [K, C], computed once for every split
    model_accuracy = (dense == labels).mean(axis=1)[:, None]
    splits = disjoint_splits(len(dense), half_size, repeats, seed)
    # the second group plays the sparse side, as in class_level_tests(dense[a], dense[b])
    table = _split_counts(accuracy, model_accuracy, [(b, a) for a, b in splits], alpha, corrections, shift)
    return table.assign(half_size=half_size)


def class_permutations(
    reference, sparse, labels, num_classes: int, repeats: int = 200, seed=0, alpha: float = 0.05, shift: str = "model"
) -> pd.DataFrame:
    """The permutation null of the class-level test: the reference and the sparse models are pooled and
    split at random into groups of their own sizes, and each split is tested as the real pair is (no
    correction). With no pruning effect the two populations are exchangeable, so the observed counts are
    one draw of these (an exact test, the same null as the PIE counts'). One row per repeat."""
    reference, labels = check_predictions(reference, labels, num_classes, "dense predictions")
    sparse, _ = check_predictions(sparse, labels, num_classes, "sparse predictions")
    pool = np.concatenate([reference, sparse])
    accuracy, model_accuracy = class_accuracies(pool, labels, num_classes), (pool == labels).mean(axis=1)[:, None]
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(pool)) for _ in range(repeats)]
    splits = [(order[len(reference) :], order[: len(reference)]) for order in orders]
    return _split_counts(accuracy, model_accuracy, splits, alpha, (None,), shift)


def _split_counts(accuracy, model_accuracy, splits, alpha, corrections, shift) -> pd.DataFrame:
    """Class tests of each (sparse side, dense side) split of models whose class accuracies [M, C] and
    top-1 [M, 1] are given: counts of significant classes, rises and falls, and the sizes of the
    differences. One row per split and correction. All splits of one shape are tested at once (Welch's
    t-test as ``scipy.stats.ttest_ind(equal_var=False)``, vectorized over the splits)."""
    if not len(splits):
        return pd.DataFrame()
    first, second = (np.stack([np.asarray(groups[side]) for groups in splits]) for side in (0, 1))
    shifted = []
    for group in (first, second):  # [S, n] model indices -> [S, n, C] shifted class accuracies
        shift_by = model_accuracy[group] if shift == "model" else model_accuracy[group].mean(axis=1, keepdims=True)
        shifted.append(accuracy[group] - shift_by)
    p = _welch_many(*shifted)
    difference = shifted[0].mean(axis=1) - shifted[1].mean(axis=1)  # [S, C]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a split whose classes are all NaN: NaN, as it should
        mean_abs, max_abs = np.nanmean(np.abs(difference), axis=1), np.nanmax(np.abs(difference), axis=1)
    frames = []
    for correction in corrections:
        adjusted = p if correction is None else np.stack([adjust_p_values(row, correction) for row in p])
        significant = np.nan_to_num(adjusted, nan=1.0) <= alpha
        frames.append(
            pd.DataFrame(
                {
                    "repeat": np.arange(len(splits)),
                    "correction": correction or "none",
                    "n_significant": significant.sum(axis=1),
                    "n_increase": (significant & (difference > 0)).sum(axis=1),
                    "n_decrease": (significant & (difference < 0)).sum(axis=1),
                    "mean_abs_difference": mean_abs,
                    "max_abs_difference": max_abs,
                }
            )
        )
    # one row per split and correction, split by split
    return pd.concat(frames).sort_values("repeat", kind="stable").reset_index(drop=True)


def _welch_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sided Welch p-values of a [S, n_a, C] against b [S, n_b, C] along the models' axis, [S, C]; NaN
    where a side has < 2 models or both sides have zero variance (as ``_welch``)."""
    if a.shape[1] < 2 or b.shape[1] < 2:
        return np.full((a.shape[0], a.shape[2]), np.nan)
    va, vb = a.var(axis=1, ddof=1) / a.shape[1], b.var(axis=1, ddof=1) / b.shape[1]
    se2 = va + vb
    with np.errstate(all="ignore"):
        t = (a.mean(axis=1) - b.mean(axis=1)) / np.sqrt(se2)
        df = se2**2 / (va**2 / (a.shape[1] - 1) + vb**2 / (b.shape[1] - 1))
        p = 2 * scipy_stats.t.sf(np.abs(t), df)
    return np.where(se2 > 0, p, np.nan)


def calibration_summary(calibration: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, min and max of the chance count of significant classes, per correction (no rows when the
    population was too small for a calibration)."""
    grouped = calibration.groupby("correction")["n_significant"]
    return grouped.agg(["mean", "std", "min", "max", "count"]).reset_index()


def chance_level(calibration: pd.DataFrame, correction: str = "none") -> dict:
    """The A/A chance level under one correction: mean and largest count of significant classes over the
    splits, the size of each dense group and the number of splits; NaN (and 0) without a calibration."""
    rows = calibration[calibration["correction"] == correction] if len(calibration) else calibration
    if not len(rows):
        return {"mean": float("nan"), "max": float("nan"), "half_size": 0, "repeats": 0}
    return {
        "mean": float(rows["n_significant"].mean()),
        "max": float(rows["n_significant"].max()),
        "half_size": int(rows["half_size"].iloc[0]),
        "repeats": int(rows["repeat"].nunique()),
    }


def topline_table(
    top1_by_level: Mapping[float, np.ndarray], labels, top5_by_level: Mapping[float, np.ndarray] | None = None
) -> pd.DataFrame:
    """Tables 2 and 3: mean and std over the K models of top-1 (and top-5) accuracy per sparsity."""
    rows = []
    for sparsity, predictions in top1_by_level.items():
        acc = model_accuracies(predictions, labels)
        row = {
            "sparsity": sparsity,
            "k": len(acc),
            "top1_mean": acc.mean(),
            "top1_std": acc.std(ddof=1) if len(acc) > 1 else np.nan,
        }
        if top5_by_level is not None and sparsity in top5_by_level:
            acc5 = top_k_correct(top5_by_level[sparsity], labels).mean(axis=1)
            row.update(top5_mean=acc5.mean(), top5_std=acc5.std(ddof=1) if len(acc5) > 1 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def smallest_empirical_p(draws: int) -> float:
    """The smallest p-value ``empirical_p`` can give with ``draws`` draws: 1 / (1 + draws)."""
    return 1 / (draws + 1)


def by_correction(summary: pd.DataFrame, correction: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``class_summary`` rows without correction and with ``correction``, each indexed by sparsity."""
    raw = summary[summary["correction"] == "none"].set_index("sparsity")
    return raw, summary[summary["correction"] == correction].set_index("sparsity")


def empirical_p(observed: float, null: np.ndarray, alternative: str = "greater") -> float:
    """One-sided p-value of ``observed`` against draws of the same statistic with no effect (noise-floor
    splits, random samples): (1 + #draws at least as extreme) / (1 + #draws), so it is never 0 and
    ties count against the effect. NaN when there are no draws or the observation is NaN."""
    null = np.asarray(null, dtype=float)
    null = null[~np.isnan(null)]
    if not len(null) or np.isnan(observed):
        return float("nan")
    if alternative == "greater":
        extreme = null >= observed
    elif alternative == "less":
        extreme = null <= observed
    else:
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    return float((1 + extreme.sum()) / (1 + len(null)))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error over the levels, valid under any dependence);
    NaN stays NaN and does not count as a test."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if not m:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out[order] = adjusted
    return out


def steepest_step(top1_by_sparsity: pd.Series) -> dict:
    """Between which neighbouring sparsities top-1 falls fastest: ``from`` and ``to`` and the ``cost`` in
    points of top-1 per point of sparsity (NaN with a single level)."""
    means = top1_by_sparsity.sort_index()
    if len(means) < 2:
        t = float(means.index.max())
        return {"from": t, "to": t, "cost": float("nan")}
    cost = -np.diff(means.to_numpy()) / np.diff(means.index.to_numpy(dtype=float))
    step = int(np.argmax(cost))
    return {"from": float(means.index[step]), "to": float(means.index[step + 1]), "cost": float(cost[step])}
