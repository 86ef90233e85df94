"""A stored population's predictions in memory (``Population``), with its dense models split by position
(``foundations.dense_split``): the reference, the floor pool behind every noise floor, and the held-out
models that score the sets the others chose. No torch: predictions from anywhere fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pruning_impact.analysis.pie import Scorer
from pruning_impact.foundations import store
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.errors import SettingsError
from pruning_impact.foundations.settings import Settings


@dataclass
class Population:
    """A stored population's predictions, in memory."""

    settings: Settings
    class_names: tuple[str, ...]
    labels: np.ndarray  # [N]
    top1: dict[float, np.ndarray]  # sparsity -> [K, N]
    top5: dict[float, np.ndarray]  # sparsity -> [K, N, 5]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def sparse_levels(self) -> list[float]:
        return [s for s in self.top1 if s > 0]

    @property
    def split(self) -> DenseSplit:
        """What each dense model is for: reference, floor pool, held out."""
        return self.settings.population.dense_split

    @property
    def reference_size(self) -> int:
        """K of the dense reference."""
        return self.split.reference.stop

    @property
    def dense_reference(self) -> np.ndarray:
        return self.top1[0.0][self.split.reference]

    @property
    def floor_pool(self) -> np.ndarray:
        """The dense models whose random splits give every noise floor (the reference among them)."""
        return self.top1[0.0][self.split.floor_pool]

    @property
    def held_out_dense(self) -> np.ndarray:
        """Dense models outside the floor pool: they define no set and score them all ([0, N] when none)."""
        return self.top1[0.0][self.split.held_out]

    @property
    def floor_group_size(self) -> int:
        """Size of each of the two disjoint dense groups behind a noise floor (no larger than the pool held)."""
        return min(self.reference_size, len(self.floor_pool) // 2)

    def scorers(self) -> list[Scorer]:
        """Every group that scores PIE sets: the dense reference (it defines every PIE_t: the paper's
        figure), the held-out dense models, and each sparse level (it defines only its own PIE_t)."""
        levels = frozenset(self.sparse_levels)
        groups = [Scorer("dense reference", 0.0, self.dense_reference, levels)]
        if len(self.held_out_dense):
            groups.append(Scorer("dense held-out", 0.0, self.held_out_dense, frozenset()))
        groups += [Scorer(f"sparse {s:.2f}", s, self.top1[s], frozenset({s})) for s in self.sparse_levels]
        return groups


def dense_level_problem(levels) -> str | None:
    """Why an analysis of these levels cannot be made (sparsity 0 missing), or None."""
    return None if 0 in levels else "include 0: every comparison is with the dense models"


def load_population(results_dir: str | Path, settings: Settings) -> Population:
    """Every level's top-1 and top-5 predictions; a missing level names the command that trains it."""
    problem = dense_level_problem(settings.population.levels)
    if problem:
        raise SettingsError(f"the analysis needs the dense population: {problem} (--sparsities 0 ...)")
    top1, top5, labels = {}, {}, None
    for sparsity in sorted(settings.population.levels):
        top1[sparsity], labels = store.load_predictions(results_dir, settings, sparsity)
        top5[sparsity], _ = store.load_population_arrays(results_dir, settings, sparsity, store.TOP5_FILE)
    info = store.read_population_info(store.population_dir(results_dir, settings))
    return Population(settings, tuple(info["class_names"]), labels, top1, top5)
