"""Pruning Identified Exemplars (the paper's Section 2.2): test examples where the modal label of a
sparse population differs from that of the dense population; their counts against a dense-vs-dense
noise floor, and how every population fares on them (Figures 4 and 10).

Works on plain arrays: predictions [K, N] of integer class indices and labels [N].
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .stats import check_predictions, disjoint_splits


def modal_labels(predictions, chunk: int = 8192) -> np.ndarray:
    """The most frequent label of each example over the K models, [N].

    Ties go to the largest class index among the tied modes, as in the authors' released code
    (``pandas.Series.mode().max()``). Memory is O(K^2 * chunk), independent of the number of classes.
    """
    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[0] < 1:
        raise ValueError(f"predictions must be [K >= 1 models, N examples], got shape {predictions.shape}")
    if not np.issubdtype(predictions.dtype, np.integer):
        raise ValueError(f"predictions must hold integer class indices, got dtype {predictions.dtype}")
    out = np.empty(predictions.shape[1], dtype=np.int64)
    for start in range(0, predictions.shape[1], chunk):
        block = np.sort(predictions[:, start : start + chunk].T, axis=1)  # [n, K], ascending
        counts = (block[:, :, None] == block[:, None, :]).sum(axis=2)  # [n, K]: how often each entry occurs
        # the last position holding the highest count is the largest of the tied modes
        last_max = block.shape[1] - 1 - np.argmax(counts[:, ::-1], axis=1)
        out[start : start + chunk] = block[np.arange(len(block)), last_max]
    return out


def pie_mask(dense, sparse) -> np.ndarray:
    """PIE_t: True where the modal label of the sparse population differs from the dense one's, [N]."""
    dense, sparse = np.asarray(dense), np.asarray(sparse)
    if dense.ndim != 2 or sparse.ndim != 2 or dense.shape[1] != sparse.shape[1]:
        raise ValueError(
            f"dense {dense.shape} and sparse {sparse.shape} predictions must both be [K, N] with the same N"
        )
    return modal_labels(dense) != modal_labels(sparse)


def pie_counts(dense, sparse_by_level: Mapping[float, np.ndarray]) -> pd.DataFrame:
    """Number and fraction of PIEs per sparsity (the last columns of Tables 2 and 3)."""
    dense_modes = modal_labels(dense)
    rows = []
    for sparsity, sparse in sparse_by_level.items():
        sparse = np.asarray(sparse)
        if sparse.shape[1] != len(dense_modes):
            raise ValueError(
                f"predictions at sparsity {sparsity} cover {sparse.shape[1]} examples, "
                f"the dense ones {len(dense_modes)}"
            )
        mask = modal_labels(sparse) != dense_modes
        rows.append(
            {
                "sparsity": sparsity,
                "k_dense": len(dense),
                "k_sparse": len(sparse),
                "n_pie": int(mask.sum()),
                "pie_fraction": float(mask.mean()),
            }
        )
    return pd.DataFrame(rows)


def pie_noise_floor(dense, half_size: int, repeats: int = 20, seed: int = 0) -> pd.DataFrame:
    """PIEs found between two disjoint random groups of ``half_size`` dense models: the count that
    modal-label noise alone produces at that population size. One row per repeat."""
    dense = np.asarray(dense)
    if dense.ndim != 2:
        raise ValueError(f"dense predictions must be [K, N], got shape {dense.shape}")
    rows = []
    for repeat, (a, b) in enumerate(disjoint_splits(len(dense), half_size, repeats, seed)):
        mask = modal_labels(dense[a]) != modal_labels(dense[b])
        rows.append(
            {"repeat": repeat, "half_size": half_size, "n_pie": int(mask.sum()), "pie_fraction": float(mask.mean())}
        )
    return pd.DataFrame(rows)


def noise_floor_summary(noise_floor: pd.DataFrame) -> dict:
    """Mean and 97.5th percentile of the dense-vs-dense PIE counts over the splits (NaN without splits)."""
    counts = noise_floor["n_pie"].to_numpy() if len(noise_floor) else np.array([])
    if not len(counts):
        return {"mean": float("nan"), "high": float("nan")}
    return {"mean": float(counts.mean()), "high": float(np.percentile(counts, 97.5))}


def _interval(values: np.ndarray) -> tuple[float, float]:
    if len(values) < 2:
        return float(values.mean()), float(values.mean())
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def pie_evaluation(
    pie_masks: Mapping[float, np.ndarray],
    predictions_by_level: Mapping[float, np.ndarray],
    labels,
    repeats: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Top-1 of every population restricted to PIE_t, to non-PIE_t and to random samples as large as PIE_t.

    One row per (PIE_t identified at ``pie_sparsity``, evaluated population ``model_sparsity``, subset).
    For ``pie`` and ``non_pie``: mean over the K models and the 2.5-97.5 percentile interval over
    models. For ``random``: ``repeats`` seeded random samples of |PIE_t| test examples; mean over
    samples of the population's mean accuracy, and the 2.5-97.5 percentile interval over samples.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    correct = {s: check_predictions(p, labels)[0] == labels for s, p in predictions_by_level.items()}
    rows = []
    for pie_sparsity, mask in pie_masks.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != labels.shape:
            raise ValueError(f"PIE mask at sparsity {pie_sparsity} has shape {mask.shape}, labels {labels.shape}")
        n_pie = int(mask.sum())
        samples = np.zeros((len(labels), repeats), dtype=np.float32)  # column r: indicator of random sample r
        if n_pie:
            for r in range(repeats):
                samples[rng.choice(len(labels), n_pie, replace=False), r] = 1.0 / n_pie
        for model_sparsity, hits in correct.items():
            base = {"pie_sparsity": pie_sparsity, "model_sparsity": model_sparsity, "n_pie": n_pie, "k": len(hits)}
            for subset, selection in (("pie", mask), ("non_pie", ~mask)):
                if selection.any():
                    per_model = hits[:, selection].mean(axis=1)
                    low, high = _interval(per_model)
                    rows.append(
                        {
                            **base,
                            "subset": subset,
                            "n_examples": int(selection.sum()),
                            "top1_mean": float(per_model.mean()),
                            "ci_low": low,
                            "ci_high": high,
                        }
                    )
            if n_pie:
                per_sample = hits.mean(axis=0, dtype=np.float32) @ samples  # [repeats]
                low, high = _interval(per_sample)
                rows.append(
                    {
                        **base,
                        "subset": "random",
                        "n_examples": n_pie,
                        "top1_mean": float(per_sample.mean()),
                        "ci_low": low,
                        "ci_high": high,
                    }
                )
    return pd.DataFrame(rows)


def sample_exemplars(
    examples: pd.DataFrame, sparsity: float, size: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Up to ``size`` PIE_t and ``size`` non-PIE_t examples drawn at random (seeded), in test-set order, from
    the long ``examples`` table (example, label, sparsity, modal, is_pie); each row carries the example,
    its label, the dense modal label and the t-sparse modal label, for galleries."""
    level = examples[np.isclose(examples["sparsity"], sparsity)].sort_values("example")
    if level.empty:
        raise ValueError(f"no examples at sparsity {sparsity}; the levels are {sorted(examples['sparsity'].unique())}")
    dense = examples[examples["sparsity"] == 0].set_index("example")["modal"]
    level = level.assign(dense_modal=level["example"].map(dense).to_numpy())
    is_pie = level["is_pie"].astype(bool)
    rng = np.random.default_rng(seed)
    picked = []
    for rows in (level[is_pie], level[~is_pie]):
        chosen = np.sort(rng.choice(len(rows), min(size, len(rows)), replace=False))
        picked.append(rows.iloc[chosen][["example", "label", "dense_modal", "modal"]].reset_index(drop=True))
    return picked[0], picked[1]
