"""Disparity measures of the follow-up literature, on plain arrays of predictions [K, N] and labels [N].

- Combined error variance (CEV) and symmetric distance error (SDE) of Blakeney et al. ("Simon Says"):
  per class, the relative change of its false-positive and false-negative rate from the dense to the
  compressed population; CEV is the variance of the (dFPR, dFNR) points around their mean, SDE the mean
  of |dFNR - dFPR|.
- The taxicab exemplar score of Hooker et al. (2020): the L1 distance between the dense and the
  compressed population's label distributions on each image, a continuous version of the PIE flag.
- The area under the ROC curve of a score for a set's membership (how well the score ranks the set first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from pruning_impact.analysis.stats import check_predictions, disjoint_splits


def error_rates(predictions, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the population's false-positive rate FP / (FP + TN) and false-negative rate FN / (FN + TP),
    one-vs-rest, pooled over its K models (equal to the mean of the models' own rates). Returns (fpr, fnr),
    each [C]; NaN for a class with no example (FNR) or no other example (FPR)."""
    predictions, labels = check_predictions(predictions, labels, num_classes)
    k = len(predictions)
    positives = np.bincount(labels, minlength=num_classes) * k  # examples of class c, over the models
    predicted = np.bincount(predictions.ravel(), minlength=num_classes)  # times c was predicted
    hits = np.bincount(labels, weights=(predictions == labels).sum(axis=0), minlength=num_classes)  # TP per class
    negatives = labels.size * k - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = (predicted - hits) / negatives
        fnr = (positives - hits) / positives
    return fpr, fnr


def relative_change(dense: np.ndarray, compressed: np.ndarray) -> np.ndarray:
    """(compressed - dense) / dense per class. Where the dense rate is 0: 0 if the compressed rate is 0 too
    (nothing changed), NaN otherwise (a relative change from no errors is undefined; such classes are left out
    of CEV and SDE and counted instead)."""
    dense, compressed = np.asarray(dense, float), np.asarray(compressed, float)
    out = np.full(dense.shape, np.nan)
    defined = dense > 0
    out[defined] = (compressed[defined] - dense[defined]) / dense[defined]
    out[(dense == 0) & (compressed == 0)] = 0.0
    return out


def relative_error_changes(dense, compressed, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the relative change of the false-positive and the false-negative rate from the dense to the
    compressed population (both [K, N]): the (dFPR, dFNR) points of CEV and SDE, each [C]."""
    d_fpr, d_fnr = error_rates(dense, labels, num_classes)
    c_fpr, c_fnr = error_rates(compressed, labels, num_classes)
    return relative_change(d_fpr, c_fpr), relative_change(d_fnr, c_fnr)


def cev_sde(dense, compressed, labels, num_classes: int) -> dict[str, float]:
    """CEV and SDE of a compressed population against the dense one (both [K, N]), over the classes whose
    relative changes are defined; ``undefined_classes`` counts the others, and the mean relative changes are
    reported too."""
    fpr, fnr = relative_error_changes(dense, compressed, labels, num_classes)
    defined = np.isfinite(fpr) & np.isfinite(fnr)
    fpr, fnr = fpr[defined], fnr[defined]
    if not len(fpr):
        undefined = int((~defined).sum())
        return {"cev": np.nan, "sde": np.nan, "mean_dfpr": np.nan, "mean_dfnr": np.nan, "undefined_classes": undefined}
    return {
        "cev": float(np.mean((fpr - fpr.mean()) ** 2 + (fnr - fnr.mean()) ** 2)),
        "sde": float(np.mean(np.abs(fnr - fpr))),
        "mean_dfpr": float(fpr.mean()),
        "mean_dfnr": float(fnr.mean()),
        "undefined_classes": int((~defined).sum()),
    }


def cev_sde_floor(pool, labels, num_classes: int, group_size: int, repeats: int, seed) -> pd.DataFrame:
    """CEV and SDE between two disjoint random groups of ``group_size`` dense models, ``repeats`` times: what
    the measures read when nothing was compressed (their noise floor at this population size)."""
    pool = np.asarray(pool)
    rows = []
    for repeat, (first, second) in enumerate(disjoint_splits(len(pool), group_size, repeats, seed)):
        rows.append({"repeat": repeat, **cev_sde(pool[first], pool[second], labels, num_classes)})
    return pd.DataFrame(rows)


def label_distribution(predictions, num_classes: int) -> np.ndarray:
    """The fraction of the K models giving each label to each example, [N, C]."""
    predictions = np.asarray(predictions)
    counts = np.zeros((predictions.shape[1], num_classes))
    rows = np.arange(predictions.shape[1])
    for model in predictions:
        np.add.at(counts, (rows, model), 1)
    return counts / len(predictions)


def taxicab_scores(dense, compressed, num_classes: int) -> np.ndarray:
    """Per example, the L1 (taxicab) distance between the dense and the compressed population's label
    distributions, [N], from 0 (the same distribution) to 2 (no label in common)."""
    return np.abs(label_distribution(dense, num_classes) - label_distribution(compressed, num_classes)).sum(axis=1)


def auc(scores, members) -> float:
    """The probability that a random member of the set scores higher than a random non-member (ties count
    half): the area under the ROC curve of ``scores`` for ``members`` (NaN when either group is empty)."""
    scores, members = np.asarray(scores, float), np.asarray(members, bool)
    n_in, n_out = members.sum(), (~members).sum()
    if not n_in or not n_out:
        return np.nan
    ranks = sps.rankdata(scores)
    return float((ranks[members].sum() - n_in * (n_in + 1) / 2) / (n_in * n_out))


def rank_p_value(scores, members) -> float:
    """Two-sided p-value of the Mann-Whitney U test behind ``auc``: could the members' scores and the others'
    come from one distribution? (NaN when either group is empty.)"""
    scores, members = np.asarray(scores, float), np.asarray(members, bool)
    if not members.any() or members.all():
        return np.nan
    return float(sps.mannwhitneyu(scores[members], scores[~members], alternative="two-sided").pvalue)
