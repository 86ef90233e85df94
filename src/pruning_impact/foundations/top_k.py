"""The top-k classes of scores and whether a label is among them: the one definition, tie rule included,
that training, the store, the robustness evaluation and the statistics share."""

from __future__ import annotations

import numpy as np


def class_index_dtype(num_classes: int) -> type:
    """The smallest integer type that holds class indices: int16 up to 32,767 classes."""
    return np.int16 if num_classes < 2**15 else np.int32


def top_k_classes(scores: np.ndarray, k: int = 5) -> np.ndarray:
    """The k highest-scoring classes of each row of ``scores`` [N, C], best first ([N, min(k, C)]);
    ties go to the smaller class index.

    Only the k candidates of each row are sorted (``argpartition``); rows where a tie straddles the k-th
    place are sorted whole, so the result is exactly that of a full stable sort, at a fraction of its cost
    for many classes.
    """
    scores = np.asarray(scores)
    n, num_classes = scores.shape
    k = min(k, num_classes)
    dtype = class_index_dtype(num_classes)
    negative = -scores
    if num_classes <= 4 * k:
        return np.argsort(negative, axis=1, kind="stable")[:, :k].astype(dtype)
    candidates = np.sort(np.argpartition(negative, k - 1, axis=1)[:, :k], axis=1)  # by class index
    values = np.take_along_axis(negative, candidates, axis=1)
    top = np.take_along_axis(candidates, np.argsort(values, axis=1, kind="stable"), axis=1)
    tied = (negative <= values.max(axis=1, keepdims=True)).sum(axis=1) > k  # a tie at the k-th place
    if tied.any():
        top[tied] = np.argsort(negative[tied], axis=1, kind="stable")[:, :k]
    return top.astype(dtype)


def top_k_correct(top_k, labels) -> np.ndarray:
    """[K, N] booleans: the label is among each model's top-k predictions ([K, N, k] class indices)."""
    top_k, labels = np.asarray(top_k), np.asarray(labels)
    if top_k.ndim != 3 or top_k.shape[1] != len(labels):
        raise ValueError(f"top-k predictions must be [K, N, k] with N = {len(labels)}, got {top_k.shape}")
    return (top_k == labels[None, :, None]).any(axis=2)
