"""The study from a stored population: a level's PIEs and non-PIEs and their images (``stored_level``), the
sheet the ``annotate export`` command writes (``population_sheet``), and the book's worked example with
machine answers (``example_study``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import AnnotationError
from pruning_impact.foundations.levels import format_level
from pruning_impact.study.agreement import agreement, property_table
from pruning_impact.study.answers import import_answers
from pruning_impact.study.machine_answers import example_answers
from pruning_impact.study.sheet import Sheet, export_sheet


def level_of(settings, sparsity: float | None) -> float:
    """The sparse level a sheet samples: ``sparsity`` when the population has it, its top level for None."""
    levels = [s for s in settings.population.levels if s > 0]
    if not levels:
        raise AnnotationError("the population has no sparse level: PIEs need a sparsity above 0")
    if sparsity is None:
        return max(levels)
    match = [s for s in levels if math.isclose(s, sparsity, abs_tol=1e-9)]
    if not match:
        raise AnnotationError(
            f"--sparsity {sparsity}: the population has the sparse levels {', '.join(map(str, levels))}; give one"
        )
    return match[0]


@dataclass(frozen=True)
class StoredLevel:
    """What a sheet of a stored population is drawn from."""

    name: str  # the population's name
    level: float
    is_pie: np.ndarray  # [N]: PIE_t between the dense reference and the level's models
    labels: np.ndarray
    close: np.ndarray  # [K, N]: dense models outside the reference (none of them chose the PIEs)
    class_names: tuple[str, ...]
    images: Callable[[np.ndarray], np.ndarray]


def stored_level(results_dir, settings, sparsity: float | None) -> StoredLevel:
    """PIE_t of a stored population at ``sparsity`` (its top level for None). Labels 2 and 3, and the example
    rule, use dense models that took no part in choosing PIE_t: the held-out ones, or where there are none,
    the dense models after the reference (they set noise floors only)."""
    from pruning_impact.analysis.pie import pie_mask
    from pruning_impact.analysis.predictions import load_population
    from pruning_impact.training.datasets import load_dataset

    level = level_of(settings, sparsity)
    population = load_population(results_dir, settings)
    close = population.held_out_dense
    if not len(close):
        close = population.top1[0.0][population.split.outside_reference]
    if not len(close):
        raise AnnotationError(
            "the sheet's labels 2 and 3 come from dense models outside the reference, and this population has "
            "none: train more dense models (--dense-population-size larger than the population size)"
        )
    return StoredLevel(
        settings.name,
        level,
        pie_mask(population.dense_reference, population.top1[level]),
        population.labels,
        close,
        population.class_names,
        load_dataset(settings.data).test_images,
    )


def population_sheet(results_dir, settings, sparsity: float | None, n: int, seed: int, out, key_out=None) -> Sheet:
    """``export_sheet`` for a stored population (see ``stored_level``)."""
    s = stored_level(results_dir, settings, sparsity)
    return export_sheet(out, s.name, s.level, s.is_pie, s.labels, s.close, s.class_names, s.images, n, seed, key_out)


@dataclass(frozen=True)
class Study:
    """The book's example study: the sheet, the machine answers' files, and the tables made from them."""

    sheet: Sheet
    answer_files: tuple[Path, ...]
    joined: pd.DataFrame
    properties: pd.DataFrame
    agreement: pd.DataFrame
    requested: int  # the sheet's size asked for, made even (the sheet has fewer when the level has too few PIEs)


def example_study(results_dir, settings, sparsity: float | None, n: int, seed: int) -> Study:
    """Export a sheet of a stored population into its ``annotation`` folder, answer it by ``EXAMPLE_RULE``
    with two machine annotators, and import the answers as a reader's would be (the same checks)."""
    s = stored_level(results_dir, settings, sparsity)
    most = 2 * min(int(s.is_pie.sum()), int((~s.is_pie).sum()))
    if most < 2:
        raise AnnotationError(f"at {format_level(s.level)} the population has no PIE or no non-PIE to sample")
    folder = store.annotation_dir(store.population_dir(results_dir, settings))
    requested = n - n % 2  # half PIEs: an odd size is rounded down
    size = min(requested, most)
    sheet = export_sheet(folder, s.name, s.level, s.is_pie, s.labels, s.close, s.class_names, s.images, size, seed)
    answers = example_answers(sheet.key_table, s.close, s.labels, s.images, s.class_names, seed=seed)
    files = []
    for table in answers:
        path = store.example_answers_file(folder, sheet.sheet_id, table["annotator"].iloc[0])
        folders.atomic_write_bytes(path, table.to_csv(index=False).encode())
        files.append(path)
    joined = import_answers(files, sheet.key)
    return Study(sheet, tuple(files), joined, property_table(joined), agreement(joined), requested)
