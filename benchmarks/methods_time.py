"""What the methods chapter adds to `make book`: the populations of the compared methods made beside a trained
population, then the comparison tables (variance of gradients included).

Runs `training.variants.train_variants` and `analysis.method_comparison.run_comparison` for the profile's
population in a temporary results folder holding a copy of the trained population (hard links: nothing of it
is changed), and prints the seconds of each with the machine, scaled to the slower machine kind (AVX2 only) by the factor of
benchmarks/NOTES.md. The population must be trained (`make book` or `pruning-impact train`).

python benchmarks/methods_time.py [--profile fashion-mnist] [--results results]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pruning_impact.analysis.method_comparison import run_comparison
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.machine import SLOWER_KIND_FACTOR, machine
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.training.variants import BOOK_METHODS, comparison_size, train_variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="fashion-mnist")
    parser.add_argument("--results", default="results")
    args = parser.parse_args()
    settings = get_profile(args.profile)
    k = comparison_size(settings)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        population = store.population_dir(Path(args.results).resolve(), settings)
        copy = store.population_dir(folder, settings)
        copy.mkdir()
        for name in (store.POPULATION_FILE, store.LABELS_FILE):
            (copy / name).hardlink_to(population / name)
        for level in settings.population.levels:
            for index in store.finished_indices(population, level):
                folders.copy_run(store.run_dir(population, level, index), store.run_dir(copy, level, index))
        start = time.perf_counter()
        train_variants(settings, folder, BOOK_METHODS, k, progress=False)
        trained = time.perf_counter() - start
        start = time.perf_counter()
        _, tables = run_comparison(settings, folder, BOOK_METHODS, k, progress=False)
        compared = time.perf_counter() - start
    total = trained + compared
    low, high = (total * f for f in SLOWER_KIND_FACTOR)
    print(f"methods {', '.join(BOOK_METHODS)} at K = {k}: make populations {trained:.1f} s, compare {compared:.1f} s")
    print(f"total {total:.1f} s here; on the slower kind, scaled: {low:.0f}-{high:.0f} s")
    print(tables["levels"][["method", "level_name", "top1_mean", "n_cie", "cie_floor_p975"]].to_string(index=False))


if __name__ == "__main__":
    main()
