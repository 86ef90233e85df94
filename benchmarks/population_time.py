"""How long the default population takes on this machine, extrapolated from a measured subset.

Trains K = --k models per sparse level (and the profile's ratio of dense models) into a temporary results
folder with the runner's defaults (one worker per core), evaluates their robustness, and scales the
measured seconds per model to the whole population: every model trained, and the models the robustness
stage evaluates (the dense floor pool and every sparse model). Generating the corrupted test sets is paid
once and counted once. Setup, analysis, calibration, notebooks and HTML are not included (a few minutes;
the book's re-run chapter gives the measured time of each stage).

The last line is ``minutes=<estimate>`` for training and robustness together.

python benchmarks/population_time.py [--profile fashion-mnist] [--k 2] [--workers N]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.options import RobustnessOptions
from pruning_impact.foundations.profiles import get_profile, resolve_settings
from pruning_impact.robustness.evaluation import evaluate_population, evaluated_runs
from pruning_impact.robustness.shifted_sets import corrupted_sets
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.population import auto_workers, planned_runs, train_population
from pruning_impact.training.train import training_precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="fashion-mnist")
    parser.add_argument("--k", type=int, default=2, help="models per sparse level in the measured subset")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: the runner's)")
    args = parser.parse_args()
    full = get_profile(args.profile)
    subset = resolve_settings(args.profile, population_size=args.k)
    workers = auto_workers(full) if args.workers is None else args.workers
    options = RobustnessOptions()
    info = machine()
    print(f"machine: {info['processor']}, flags {' '.join(info['speed_flags'])}, {info['cores']} cores")
    print(f"profile {args.profile}: {workers} worker(s), training in {training_precision(full)}")
    with tempfile.TemporaryDirectory() as results:
        started = time.perf_counter()
        corrupted_sets(load_dataset(full.data), full.data, options, results, progress=False)
        corrupting = time.perf_counter() - started
        report = train_population(subset, results, progress=False, executor=ExecutorOptions(workers=workers))
        started = time.perf_counter()
        evaluate_population(subset, results, options, progress=False, executor=ExecutorOptions(workers=workers))
        evaluating = time.perf_counter() - started
    trained, evaluated = len(planned_runs(subset)), len(evaluated_runs(subset, options))
    train_each, evaluate_each = report.seconds / trained, evaluating / evaluated
    full_trained, full_evaluated = len(planned_runs(full)), len(evaluated_runs(full, options))
    print(f"measured: {trained} models trained in {report.seconds:.1f} s ({train_each:.2f} s per model, wall clock)")
    print(f"measured: {evaluated} models evaluated in {evaluating:.1f} s ({evaluate_each:.2f} s per model)")
    print(f"measured: corrupted test sets generated once in {corrupting:.1f} s")
    seconds = full_trained * train_each + full_evaluated * evaluate_each + corrupting
    print(
        f"whole population: {full_trained} models x {train_each:.2f} s + {full_evaluated} evaluated x "
        f"{evaluate_each:.2f} s + {corrupting:.0f} s = {seconds / 60:.1f} min"
    )
    print(f"minutes={seconds / 60:.1f}")


if __name__ == "__main__":
    main()
