"""The paper's analysis of a stored population: top lines, class-level tests, PIEs, noise floors.

Reads predictions through ``store``, computes with ``stats`` and ``pie`` (plain arrays), and caches
the tables as CSV in the population's ``analysis/`` folder (``folders.cached_tables``): ``run_analysis``
reads them when fresh and computes them otherwise (the book's chapters call it), ``read_analysis`` only
reads. No torch: the analysis runs on predictions from anywhere.

The dense population is split by position (``foundations.dense_split``): with 3K models (K the sparse
population size), the first K are the reference of every comparison, random splits of the first 2K
into two groups of K give every noise floor at the sparse populations' size, and the last K define
nothing: they score the PIE sets and the noise-floor sets, so no set is scored by a model that chose
it. Sparse models score the PIE sets of the other levels, held out too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_impact.analysis.pie import (
    MARGIN_BINS,
    margin_profile,
    modal_labels,
    permutation_floor,
    permuted_hardness_difference,
    pie_counts,
    pie_evaluation,
    pie_hardness,
    pie_noise_floor,
)
from pruning_impact.analysis.predictions import Population, load_population
from pruning_impact.analysis.stats import (
    class_level_summary,
    class_permutations,
    model_accuracies,
    null_calibration,
    topline_table,
)
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.options import SHIFTS, AnalysisOptions
from pruning_impact.foundations.profiles import command_line
from pruning_impact.foundations.provenance import provenance, source_digest
from pruning_impact.foundations.settings import Settings
from pruning_impact.foundations.top_k import top_k_correct

logger = logging.getLogger(__name__)
ANALYSIS_CODE = (  # the modules the tables are computed by (``code_digest``)
    __name__,
    "pruning_impact.analysis.predictions",
    "pruning_impact.analysis.stats",
    "pruning_impact.analysis.pie",
    "pruning_impact.foundations.dense_split",
    "pruning_impact.foundations.top_k",
)
TABLES = (
    "model_accuracies",
    "toplines",
    "class_summary",
    "class_tests",
    "aa_calibration",
    "pie_counts",
    "pie_noise_floor",
    "pie_evaluation",
    "pie_permutations",
    "pie_low_vs_high",
    "class_permutations",
    "pie_hardness",
    "pie_margins",
    "pie_sparse_floor",
    "pie_half_floor",
    "shift_comparison",
    "examples",
)


def model_accuracy_table(population: Population) -> pd.DataFrame:
    """Top-1 and top-5 of every model (Figure 1's distributions): sparsity, model, top1, top5."""
    frames = []
    for sparsity, top1 in population.top1.items():
        frames.append(
            pd.DataFrame(
                {
                    "sparsity": sparsity,
                    "model": np.arange(len(top1)),
                    "top1": model_accuracies(top1, population.labels),
                    "top5": top_k_correct(population.top5[sparsity], population.labels).mean(axis=1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def analyze(population: Population, options: AnalysisOptions | None = None) -> dict[str, pd.DataFrame]:
    """All tables of the analysis (see ``TABLES``), without touching the disk."""
    options = options or AnalysisOptions()
    alpha, repeats, seed, shift = options.alpha, options.repeats, options.seed, options.shift
    labels, num_classes, names = population.labels, population.num_classes, population.class_names
    reference, pool, group = population.dense_reference, population.floor_pool, population.floor_group_size
    sparse = {s: population.top1[s] for s in population.sparse_levels}
    corrections = (None, options.correction) if options.correction else (None,)

    summary, tests = class_level_summary(reference, sparse, labels, num_classes, alpha, corrections, names, shift=shift)
    tests["class_name"] = tests["class_name"].astype(str)
    tables: dict[str, pd.DataFrame] = {"class_summary": summary, "class_tests": tests}
    tables["shift_comparison"] = pd.concat(
        [
            (
                summary
                if other == shift
                else class_level_summary(reference, sparse, labels, num_classes, alpha, (None,), names, shift=other)[0]
            )
            .query("correction == 'none'")[["sparsity", "n_significant", "n_increase", "n_decrease"]]
            .assign(shift=other)
            for other in SHIFTS
        ],
        ignore_index=True,
    )
    if len(pool) >= 4 and group >= 2:
        tables["aa_calibration"] = null_calibration(
            pool, labels, num_classes, group, repeats, seed, alpha, corrections, shift=shift
        )
    else:
        tables["aa_calibration"] = pd.DataFrame(
            columns=["repeat", "correction", "half_size", "n_significant", "n_increase", "mean_abs_difference"]
        )
    tables["class_permutations"] = pd.concat(
        [
            class_permutations(
                reference, p, labels, num_classes, options.permutations, [seed, index], alpha, shift
            ).assign(sparsity=s)
            for index, (s, p) in enumerate(sparse.items())
        ]
        or [pd.DataFrame(columns=["repeat", "n_significant", "n_increase", "n_decrease", "sparsity"])],
        ignore_index=True,
    )
    tables["pie_noise_floor"] = (
        pie_noise_floor(pool, group, repeats, seed, scorers=population.held_out_dense, labels=labels)
        if group >= 1
        else pd.DataFrame(columns=["repeat", "half_size", "n_pie", "pie_fraction", "held_out_top1"])
    )

    counts = pie_counts(reference, sparse)
    floor = tables["pie_noise_floor"]["n_pie"]
    counts["noise_floor_mean"] = floor.mean() if len(floor) else np.nan
    counts["noise_floor_std"] = floor.std(ddof=1) if len(floor) > 1 else np.nan
    tables["pie_counts"] = counts

    dense_modes = modal_labels(reference)
    masks = {s: modal_labels(p) != dense_modes for s, p in sparse.items()}
    tables["pie_evaluation"] = pie_evaluation(masks, population.scorers(), labels, options.random_samples, seed)
    held_out = population.held_out_dense
    tables["pie_permutations"] = pd.concat(
        [
            # each level its own permutations (seeded by its position), so levels do not share re-splits
            permutation_floor(reference, p, options.permutations, [seed, index], held_out, labels).assign(sparsity=s)
            for index, (s, p) in enumerate(sparse.items())
        ]
        or [pd.DataFrame(columns=["repeat", "n_pie", "held_out_top1", "sparsity"])],
        ignore_index=True,
    )
    levels = sorted(sparse)
    difference = (
        permuted_hardness_difference(
            reference, sparse[levels[0]], sparse[levels[-1]], held_out, labels, options.permutations, seed
        )
        if len(levels) >= 2 and len(held_out)
        else np.array([])
    )
    tables["pie_low_vs_high"] = pd.DataFrame({"repeat": np.arange(len(difference)), "difference": difference})
    tables.update(_pie_hardness_tables(population, masks, dense_modes, repeats, seed))

    tables["model_accuracies"] = model_accuracy_table(population)
    toplines = topline_table(population.top1, labels, population.top5)
    for corr in corrections:
        label = corr or "none"
        part = summary[summary["correction"] == label].set_index("sparsity")["n_significant"]
        toplines[f"n_significant_{label}"] = toplines["sparsity"].map(part)
    toplines["n_pie"] = toplines["sparsity"].map(counts.set_index("sparsity")["n_pie"])
    tables["toplines"] = toplines

    tables["examples"] = examples_table(labels, dense_modes, {s: modal_labels(p) for s, p in sparse.items()})
    return tables


def _pie_hardness_tables(population: Population, masks, dense_modes, repeats: int, seed: int) -> dict:
    """Claim 2's tables: PIE_t scored by held-out dense models and by the sparse models of the other levels
    (``pie_hardness``); PIE_t's profile of defining vote margins scored by the held-out dense models
    (``pie_margins``), and the same for sparse-vs-sparse disagreement sets, halves of each sparse level
    (``pie_sparse_floor``), and for dense-vs-dense sets of the halves' size (``pie_half_floor``), for the
    margin-matched comparison of claim 2s."""
    labels, held_out, sparse = population.labels, population.held_out_dense, population.sparse_levels
    groups = {}
    for t in sparse:
        groups[t] = {"dense held-out": held_out} if len(held_out) else {}
        others = [population.top1[s] for s in sparse if s != t]
        if others:
            groups[t]["sparse held-out"] = np.concatenate(others)
    tables = {"pie_hardness": pie_hardness(masks, groups, labels)}
    profile = [f"{kind}_{b}" for b in range(len(MARGIN_BINS) + 1) for kind in ("n", "hits")]
    empty_margins = pd.DataFrame(columns=[*profile, "sparsity", "n_pie"])
    empty_floor = pd.DataFrame(columns=["repeat", "half_size", "n_pie", "held_out_top1", *profile, "sparsity"])
    if not len(held_out):
        empty_half = empty_floor.drop(columns="sparsity")
        return {**tables, "pie_margins": empty_margins, "pie_sparse_floor": empty_floor, "pie_half_floor": empty_half}
    hits = (held_out == labels).mean(axis=0)
    share = (population.dense_reference == dense_modes).mean(axis=0)
    tables["pie_margins"] = pd.concat(
        [margin_profile(mask, share, hits).assign(sparsity=t, n_pie=int(mask.sum())) for t, mask in masks.items()]
        or [empty_margins],
        ignore_index=True,
    )
    floors = [
        pie_noise_floor(
            population.top1[t], len(population.top1[t]) // 2, repeats, [seed, index], held_out, labels
        ).assign(sparsity=t)
        for index, t in enumerate(sparse)
        if len(population.top1[t]) >= 2
    ]
    tables["pie_sparse_floor"] = pd.concat(floors, ignore_index=True) if floors else empty_floor
    # dense-vs-dense sets at the halves' size: their margin-matched rates are the halves' yardstick
    halves = sorted({len(population.top1[t]) // 2 for t in sparse if len(population.top1[t]) >= 2})
    half_floors = [
        pie_noise_floor(population.floor_pool, half, repeats, [seed, len(sparse), half], held_out, labels)
        for half in halves
        if 2 * half <= len(population.floor_pool)
    ]
    tables["pie_half_floor"] = (
        pd.concat(half_floors, ignore_index=True) if half_floors else empty_floor.drop(columns="sparsity")
    )
    return tables


def examples_table(labels: np.ndarray, dense_modes: np.ndarray, sparse_modes: dict[float, np.ndarray]) -> pd.DataFrame:
    """One row per test example and level (a long table): example, label, sparsity, the level's modal label
    and whether the example is a PIE at that level (never at sparsity 0, the reference)."""
    example = np.arange(len(labels))
    frames = [
        pd.DataFrame(
            {"example": example, "label": labels, "sparsity": sparsity, "modal": modes, "is_pie": modes != dense_modes}
        )
        for sparsity, modes in {0.0: dense_modes, **sparse_modes}.items()
    ]
    return pd.concat(frames, ignore_index=True)


def analysis_key(settings: Settings, options: AnalysisOptions) -> str:
    """Folder name of an analysis: population sizes, levels and options (readable prefix, then a hash)."""
    pop = settings.population
    described = {
        "sparsities": sorted(pop.levels),
        "k": pop.population_size,
        "k_dense": pop.size_at(0.0),
        **dataclasses.asdict(options),
    }
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:8]
    return f"k{pop.population_size}-dense{pop.size_at(0.0)}-{digest}"


def code_digest() -> str:
    """A hash of the code the tables are computed by (this module, the population in memory and its dense
    split, ``stats``, ``pie`` and the top-k rule): tables made by other code are made again rather than read
    with missing or changed columns."""
    return source_digest(*ANALYSIS_CODE)[:16]


def _table_inputs(results_dir: str | Path, settings: Settings, options: AnalysisOptions) -> dict:
    """What the tables are made from: the options, the population sizes, every run they read and the code."""
    pop_dir = store.population_dir(results_dir, settings)
    runs = [
        store.run_dir(pop_dir, s, i)
        for s in sorted(settings.population.levels)
        for i in range(settings.population.size_at(s))
    ]
    return {
        "options": dataclasses.asdict(options),
        "key": analysis_key(settings, options),
        "runs": folders.fingerprint(runs),
        "code": code_digest(),
    }


def run_analysis(
    results_dir: str | Path, settings: Settings, options: AnalysisOptions = AnalysisOptions(), progress: bool = False
) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The analysis tables of a stored population: read when they are fresh for exactly these runs and
    options, otherwise computed and written with the options, settings and provenance."""
    pop_dir = store.population_dir(results_dir, settings)
    folder = store.analysis_dir(pop_dir, analysis_key(settings, options))

    def compute() -> dict[str, pd.DataFrame]:
        if progress:
            logger.info("Analysing %s into %s ...", settings.name, folder)
        return analyze(load_population(results_dir, settings), options)

    record = {"settings": settings.to_dict(), "provenance": provenance()}
    return folder, folders.cached_tables(folder, _table_inputs(results_dir, settings, options), compute, record)


def read_analysis(
    results_dir: str | Path, settings: Settings, options: AnalysisOptions = AnalysisOptions()
) -> dict[str, pd.DataFrame]:
    """The stored analysis tables of exactly these runs and options; when they are missing or stale, an error
    naming the command that makes them."""
    store.require_trained(results_dir, settings)
    folder = store.analysis_dir(store.population_dir(results_dir, settings), analysis_key(settings, options))
    return folders.fresh_tables(
        folder,
        _table_inputs(results_dir, settings, options),
        f"analysis tables of {settings.name} for these options",
        command_line("analyze", settings, results_dir, options),
    )
