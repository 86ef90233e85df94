"""Pruning Identified Exemplars (the paper's Section 2.2): test examples where the modal label of a
sparse population differs from that of the dense population; their counts against a dense-vs-dense
noise floor, and how every population fares on them (Figures 4 and 10).

Works on plain arrays: predictions [K, N] of integer class indices and labels [N].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import check_predictions, disjoint_splits, empirical_p


def modal_labels(predictions, chunk: int = 8192) -> np.ndarray:
    """The most frequent label of each example over the K models, [N].

    Ties go to the largest class index among the tied modes, as in the authors' released code
    (``pandas.Series.mode().max()``). Few classes (at most 256) are counted per class; otherwise memory
    is O(K^2 * chunk), independent of the number of classes.
    """
    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[0] < 1:
        raise ValueError(f"predictions must be [K >= 1 models, N examples], got shape {predictions.shape}")
    if not np.issubdtype(predictions.dtype, np.integer):
        raise ValueError(f"predictions must hold integer class indices, got dtype {predictions.dtype}")
    k, n = predictions.shape
    num_classes = int(predictions.max()) + 1 if predictions.size else 1
    if predictions.min(initial=0) >= 0 and num_classes <= 256:
        counts = np.zeros((n, num_classes), dtype=np.int16)
        rows = np.arange(n)
        for model in predictions:
            counts[rows, model] += 1
        return num_classes - 1 - np.argmax(counts[:, ::-1], axis=1)  # the largest of the tied modes
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
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


def pie_noise_floor(dense, half_size: int, repeats: int = 20, seed: int = 0, scorers=None, labels=None) -> pd.DataFrame:
    """PIEs found between two disjoint random groups of ``half_size`` dense models: the count that
    modal-label noise alone produces at that population size. One row per repeat.

    With ``scorers`` (predictions [K_h, N] of models outside ``dense``) and ``labels``, each floor set is
    also scored: ``held_out_top1`` is the scorers' mean top-1 on it, the yardstick for PIE_t scored by
    the same models (NaN without scorers)."""
    dense = np.asarray(dense)
    if dense.ndim != 2:
        raise ValueError(f"dense predictions must be [K, N], got shape {dense.shape}")
    hits = None
    if scorers is not None and len(scorers):
        scorers, labels = check_predictions(scorers, labels, name="held-out predictions")
        hits = (scorers == labels).mean(axis=0)  # [N]: mean over the scorers
    splits = disjoint_splits(len(dense), half_size, repeats, seed)
    # each split as an order of the models in both groups, so that split_modes counts them together
    modes = split_modes(dense, half_size, [np.concatenate([a, b]) for a, b in splits])
    table = _disagreement_table(modes, hits)
    table.insert(1, "half_size", half_size)
    table.insert(3, "pie_fraction", table["n_pie"] / dense.shape[1])
    return table


def _disagreement_table(modes: SplitModes, hits) -> pd.DataFrame:
    """Per split, the images where its groups' modes differ: ``n_pie``, their mean of ``hits`` [N] (the
    scorers' mean top-1; NaN without scorers or images) and their profile of vote margins."""
    masks = modes.disagree()  # [splits, V]; no other image can be in a disagreement set
    n_pie = masks.sum(axis=1)
    table = pd.DataFrame({"repeat": np.arange(len(masks)), "n_pie": n_pie.astype(int)})
    if hits is None:
        return table.assign(held_out_top1=np.nan)
    hits = np.asarray(hits, dtype=np.float64)[modes.varying]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["held_out_top1"] = np.where(n_pie > 0, masks @ hits / n_pie, np.nan)
    return pd.concat([table, margin_profile(masks, modes.share, hits)], axis=1)


MARGIN_BINS = (0.55, 0.75)
"""Edges of the bins of a defining group's vote share for its modal label (near split, leaning, clear):
disagreement sets are compared with PIE_t within these bins, because near-split images are hard anyway."""


def margin_bin(share) -> np.ndarray:
    """The bin (0, 1, 2) of each vote share, by ``MARGIN_BINS``."""
    return np.digitize(np.asarray(share, dtype=float), MARGIN_BINS)


def margin_profile(masks, shares, hits) -> pd.DataFrame:
    """Per set (rows of ``masks`` [R, N]) and margin bin b: ``n_b``, the images of the set whose defining
    group's vote share (``shares`` [R, N]) falls in bin b, and ``hits_b``, the sum of the scorers' mean
    top-1 (``hits`` [N]) over them; the inputs of the margin-matched comparison (claim 2s)."""
    masks, shares = np.atleast_2d(masks), np.atleast_2d(shares)
    rows, images = np.nonzero(masks)  # only the sets' own images are binned
    bins = len(MARGIN_BINS) + 1
    cell = rows * bins + margin_bin(shares[rows, images])
    size = len(masks) * bins
    counts = np.bincount(cell, minlength=size).reshape(len(masks), bins)
    sums = np.bincount(cell, weights=np.asarray(hits, dtype=np.float64)[images], minlength=size).reshape(
        len(masks), bins
    )
    columns = {}
    for b in range(bins):
        columns[f"n_{b}"], columns[f"hits_{b}"] = counts[:, b], sums[:, b]
    return pd.DataFrame(columns)


def _relabel(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``block`` [M, n], its distinct labels in ascending order: the rank of every entry among
    its column's distinct labels [M, n] and the label of each rank [n, M] (ranks past a column's number of
    distinct labels hold 0). Ranks keep the labels' order, so the largest tied rank is the largest tied
    label (``modal_labels``'s tie rule)."""
    rows = np.ascontiguousarray(block.T)  # [n, M]: each image's labels contiguous, for the sort
    order = np.argsort(rows, axis=1)
    ordered = np.take_along_axis(rows, order, axis=1)
    ranks_ordered = np.zeros(rows.shape, dtype=np.int64)
    np.cumsum(ordered[:, 1:] != ordered[:, :-1], axis=1, out=ranks_ordered[:, 1:])
    ranks = np.empty_like(ranks_ordered)
    np.put_along_axis(ranks, order, ranks_ordered, axis=1)
    label_of = np.zeros(rows.shape, dtype=np.int64)
    np.put_along_axis(label_of, ranks_ordered, ordered, axis=1)
    return ranks.T, label_of


SPLIT_BLOCK = 8_000_000
"""Entries of one block of vote counts in ``split_modes`` (splits x candidate labels x images; 32 MB)."""


@dataclass(frozen=True)
class SplitModes:
    """The modal labels of both groups of many splits of a pool of models (``split_modes``). Only the
    images whose modes some split can change are kept per split; on every other image both groups of
    every split have the mode ``fixed``."""

    fixed: np.ndarray
    """[N]: the modes of both groups of every split, where no split can change them."""
    varying: np.ndarray
    """[V]: indices of the images whose modes can differ between splits (``fixed`` is unused there)."""
    first: np.ndarray
    """[splits, V]: the first group's modes on those images."""
    second: np.ndarray
    """[splits, V]: the second group's modes on those images."""
    share: np.ndarray
    """[splits, V]: the share of the first group's votes that its mode got there (its vote margin)."""

    def disagree(self) -> np.ndarray:
        """[splits, V]: where the two groups' modes differ (only varying images can)."""
        return self.first != self.second


def split_modes(pool, first: int, splits: list[np.ndarray]) -> SplitModes:
    """Modal labels of both groups of each split of ``pool`` [M, N]: for each ``order`` in ``splits`` (model
    indices, e.g. a permutation), the first ``first`` models form one group and the rest the other. Equal
    to ``modal_labels`` of each group, tie rule included.

    Per image, only labels that some split could make a group's mode are counted: a label given by t of
    the M models gets at least t - (M - group size) votes in a group, so a label with fewer votes than
    the most frequent one's floor never wins. Images left with one candidate have the same modes in
    every split (``SplitModes.fixed``). On the others the candidates are relabelled by rank (few per image)
    and the vote counts of all splits are one matrix product of group memberships with one-hot ranks, in
    blocks of images with as many candidates: time and memory do not grow with the number of classes."""
    pool = np.asarray(pool)
    m, n = pool.shape
    if not np.issubdtype(pool.dtype, np.integer):
        raise ValueError(f"predictions must hold integer class indices, got dtype {pool.dtype}")
    sizes = {len(order) - first for order in splits} or {m - first}
    if not 1 <= first <= m - 1 or min(sizes) < 1:
        raise ValueError(f"both groups need a model: the first {first} of splits of sizes {sorted(sizes)}")
    members = np.zeros((2, len(splits), m + 1), dtype=np.float32)  # the last column adds each label's rank
    members[:, :, m] = 1.0
    for row, order in enumerate(splits):
        members[0, row, order[:first]] = 1.0
        members[1, row, order[first:]] = 1.0
    fixed = pool[0].copy()
    contested = np.flatnonzero((pool != pool[0]).any(axis=0))
    ranks, label_of = _relabel(pool[:, contested])
    c = len(contested)
    totals = np.bincount((np.arange(c) * m + ranks).ravel(), minlength=c * m).reshape(c, m)  # [image, rank]
    # the fewest votes the most frequent label can get in a group, over both groups' sizes
    floor = np.maximum(totals.max(axis=1) - (m - min(first, *sizes)), 1)
    candidate = totals >= floor[:, None]
    count = candidate.sum(axis=1)
    decided = count == 1
    fixed[contested[decided]] = label_of[decided, np.argmax(candidate[decided], axis=1)]
    varying = np.flatnonzero(~decided)
    varying = varying[np.argsort(count[varying], kind="stable")]  # by number of candidates: blocks are slices
    modes = np.empty((2, len(splits), len(varying)), dtype=np.int32)  # class indices; half of int64's traffic
    share = np.empty((len(splits), len(varying)), dtype=np.float32)
    # each varying image's candidates relabelled 0..count-1 in rank order; other votes are dropped
    new_rank = np.cumsum(candidate, axis=1) - 1
    depths = count[varying]
    for depth in np.unique(depths):
        low, high = np.searchsorted(depths, [depth, depth + 1])
        step = max(1, SPLIT_BLOCK // (len(splits) * depth))
        for start in range(low, high, step):
            where = slice(start, min(start + step, high))
            block = varying[where]
            width = len(block)
            kept = candidate[block[None, :], ranks[:, block]]  # [M, width]: the vote is for a candidate
            slot = new_rank[block[None, :], ranks[:, block]] * width + np.arange(width)  # column rank * width + j
            onehot = np.zeros((m + 1, depth * width), dtype=np.float32)
            onehot[np.nonzero(kept)[0], slot[kept]] = depth
            onehot[m] = np.repeat(np.arange(depth), width)
            # [depth * width]: the label of each candidate rank, rank-major as the columns of onehot
            candidates = np.nonzero(candidate[block])[1].reshape(width, depth).T
            labels = label_of[block[None, :], candidates].ravel().astype(np.int32)
            for group in range(2):
                # votes * depth + rank: its maximum is the most votes, ties to the larger rank (label)
                key = (members[group] @ onehot).reshape(len(splits), depth, width).max(axis=1).astype(np.int32)
                most, rank = np.divmod(key, np.int32(depth))
                labels.take(rank * width + np.arange(width, dtype=np.int32), out=modes[group][:, where])
                if group == 0:
                    np.divide(most, first, out=share[:, where], dtype=np.float32)
    return SplitModes(fixed, contested[varying], modes[0], modes[1], share)


def permutation_floor(reference, sparse, repeats: int = 200, seed: int = 0, scorers=None, labels=None) -> pd.DataFrame:
    """The null distribution of a PIE count and of its held-out hardness, by permutation: the reference
    and the sparse models are pooled and split at random into groups of their own sizes, and each split's
    disagreement set is counted and scored by ``scorers`` (models in neither group). With no pruning
    effect the two populations are exchangeable, so the observed PIE_t is one draw of this distribution
    (an exact test). One row per repeat: ``n_pie`` and ``held_out_top1``."""
    reference, sparse = np.asarray(reference), np.asarray(sparse)
    pool = np.concatenate([reference, sparse])
    hits = None
    if scorers is not None and len(scorers):
        scorers, labels = check_predictions(scorers, labels, name="held-out predictions")
        hits = (scorers == labels).mean(axis=0)
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(pool)) for _ in range(repeats)]
    return _disagreement_table(split_modes(pool, len(reference), orders), hits)


def permuted_hardness_difference(
    reference, low, high, scorers, labels, repeats: int = 200, seed: int = 0
) -> np.ndarray:
    """The null distribution of (held-out top-1 on PIE_low) - (on PIE_high) when the two sparse populations
    are exchangeable: their models are pooled and split at random into two groups of their sizes, each
    group's PIE set (against ``reference``) is scored by ``scorers``; one value per repeat."""
    scorers, labels = check_predictions(scorers, labels, name="held-out predictions")
    hits = (scorers == labels).mean(axis=0)
    dense_modes = modal_labels(reference)
    pool = np.concatenate([np.asarray(low), np.asarray(high)])
    rng = np.random.default_rng(seed)
    modes = split_modes(pool, len(low), [rng.permutation(len(pool)) for _ in range(repeats)])
    # PIEs among the images no split changes are in both groups' sets of every split
    steady = np.ones(len(hits), dtype=bool)
    steady[modes.varying] = False
    steady &= modes.fixed != dense_modes
    hits_varying, dense_varying = hits[modes.varying], dense_modes[modes.varying]
    sizes, sums = [], []
    for group in (modes.first, modes.second):
        pie = group != dense_varying  # [repeats, V]
        sizes.append(steady.sum() + pie.sum(axis=1))
        sums.append(hits[steady].sum() + pie @ hits_varying)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((sizes[0] > 0) & (sizes[1] > 0), sums[0] / sizes[0] - sums[1] / sizes[1], np.nan)


HARDNESS_COLUMNS = [
    "pie_sparsity",
    "scorer",
    "k",
    "n_pie",
    "n_test",
    "top1_pie",
    "top1_non_pie",
    "top1_all",
    "random_se",
    "hard_pie",
    "hard_all",
    "p_harder",
    "p_easier",
]


def pie_hardness(pie_masks: Mapping[float, np.ndarray], groups: Mapping[float, Mapping[str, np.ndarray]], labels):
    """Claim 2 as the paper's Figure 4 states it: are PIE_t harder than random test images and than non-PIE
    images, for models that did not choose them? ``groups`` gives, per sparsity t, the scoring groups
    (name -> predictions [K, N]) held out from PIE_t.

    An image is *hard* for a group when most of its models get it wrong. With no effect PIE_t is, for the
    scorers, a random subset of the test set, so its number of hard images is hypergeometric: ``p_harder``
    and ``p_easier`` are exact one-sided p-values (Fisher's exact test of PIE_t against the non-PIE images is
    the same test), and they reach any alpha at the sizes of a book. Beside it, the mean top-1 on PIE_t, on
    the non-PIE images and on all (the mean of random samples of PIE_t's size), and the standard error of
    a random sample's mean top-1 of that size (finite population), for the equivalence test."""
    labels = np.asarray(labels)
    rows = []
    for t, mask in pie_masks.items():
        mask = np.asarray(mask, dtype=bool)
        n, n_pie = len(labels), int(mask.sum())
        for name, predictions in groups.get(t, {}).items():
            predictions, _ = check_predictions(predictions, labels, name=name)
            hits = (predictions == labels).mean(axis=0)
            hard = hits < 0.5
            hard_all, hard_pie = int(hard.sum()), int(hard[mask].sum())
            spread = float(hits.std(ddof=1)) if n > 1 else np.nan
            rows.append(
                {
                    "pie_sparsity": t,
                    "scorer": name,
                    "k": len(predictions),
                    "n_pie": n_pie,
                    "n_test": n,
                    "top1_pie": float(hits[mask].mean()) if n_pie else np.nan,
                    "top1_non_pie": float(hits[~mask].mean()) if n_pie < n else np.nan,
                    "top1_all": float(hits.mean()),
                    "random_se": spread * np.sqrt((n - n_pie) / (n * n_pie)) if n_pie else np.nan,
                    "hard_pie": hard_pie,
                    "hard_all": hard_all,
                    "p_harder": float(scipy_stats.hypergeom.sf(hard_pie - 1, n, hard_all, n_pie)) if n_pie else np.nan,
                    "p_easier": float(scipy_stats.hypergeom.cdf(hard_pie, n, hard_all, n_pie)) if n_pie else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=HARDNESS_COLUMNS)


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


@dataclass(frozen=True)
class Scorer:
    """A group of models that scores PIE sets: its name, its sparsity, its predictions [K, N] and the
    sparsities whose PIE_t it helped define (scoring those is the paper's figure, not a held-out test)."""

    name: str
    sparsity: float
    predictions: np.ndarray
    defines: frozenset[float]


def pie_evaluation(
    pie_masks: Mapping[float, np.ndarray],
    scorers: Sequence[Scorer],
    labels,
    repeats: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Top-1 of every scoring group restricted to PIE_t, to non-PIE_t and to random samples as large as PIE_t.

    One row per (PIE_t identified at ``pie_sparsity``, scorer, subset); ``role`` is ``defining`` when the
    scorer's models helped choose PIE_t and ``held-out`` when they did not. For ``pie`` and ``non_pie``:
    mean over the scorer's models and the 2.5-97.5 percentile interval over models; ``p_below_random`` (on
    ``pie`` rows) is the one-sided p-value of that mean against the random samples. For ``random``:
    ``repeats`` seeded random samples of |PIE_t| test examples (the same samples for every scorer); mean
    over samples of the group's mean accuracy, and the 2.5-97.5 percentile interval over samples.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    correct = [check_predictions(scorer.predictions, labels, name=scorer.name)[0] == labels for scorer in scorers]
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
        for scorer, hits in zip(scorers, correct, strict=True):
            base = {
                "pie_sparsity": pie_sparsity,
                "scorer": scorer.name,
                "model_sparsity": scorer.sparsity,
                "role": "defining" if pie_sparsity in scorer.defines else "held-out",
                "n_pie": n_pie,
                "k": len(hits),
            }
            per_sample = hits.mean(axis=0, dtype=np.float32) @ samples if n_pie else np.array([])  # [repeats]
            for subset, selection in (("pie", mask), ("non_pie", ~mask)):
                if selection.any():
                    per_model = hits[:, selection].mean(axis=1)
                    low, high = _interval(per_model)
                    row = {
                        **base,
                        "subset": subset,
                        "n_examples": int(selection.sum()),
                        "top1_mean": float(per_model.mean()),
                        "ci_low": low,
                        "ci_high": high,
                    }
                    if subset == "pie":
                        row["p_below_random"] = empirical_p(row["top1_mean"], per_sample, "less")
                    rows.append(row)
            if n_pie:
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


def sparse_scorers(evaluation: pd.DataFrame) -> list[str]:
    """The sparse levels' scorers of a ``pie_evaluation`` table, from the least to the most sparse."""
    sparse = evaluation[evaluation["model_sparsity"] > 0].sort_values("model_sparsity", kind="stable")
    return list(dict.fromkeys(sparse["scorer"]))


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
