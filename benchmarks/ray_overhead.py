"""What the Ray executor costs per task against the local one, on this machine, side by side in one run.

Trains the same population (the smoke profile's tiny CNN at its three sparsities) into fresh results folders
with the local executor (one worker process per core) and with Ray (a Ray instance on this machine, one CPU
per task), at two sizes: K = --small and K = --k models per sparsity (3K training tasks), alternating
executors and sizes --rounds times. Both run one model per core on one thread, so what differs is what each
executor adds. Fixed costs (the local executor starts its worker processes at every command; a Ray worker
imports torch at its first task) cancel in the difference between the two sizes: the slope, seconds per
extra task, is the per-task cost, and Ray's per-task overhead is its slope minus the local one. Starting the
Ray instance is paid once per command and reported on its own. The two stores are checked to hold the same
predictions.

The last line is ``overhead_per_task_ms=<median over rounds>``.

python benchmarks/ray_overhead.py [--k 30] [--small 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from pruning_impact.foundations import store
from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.profiles import resolve_settings
from pruning_impact.foundations.ray_executor import RayExecutor
from pruning_impact.training.population import planned_runs, train_population


def timed_population(settings, executor: ExecutorOptions) -> tuple[float, str]:
    """Seconds to train the population into a new folder, and that folder (kept until the process ends)."""
    results = tempfile.mkdtemp(prefix="ray-overhead-")
    started = time.perf_counter()
    train_population(settings, results, progress=False, executor=executor)
    return time.perf_counter() - started, results


def same_predictions(settings, results_a: str, results_b: str) -> None:
    for sparsity in settings.population.sparsities:
        a, _ = store.load_predictions(results_a, settings, sparsity)
        b, _ = store.load_predictions(results_b, settings, sparsity)
        np.testing.assert_array_equal(a, b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=30, help="models per sparsity of the large run (default 30)")
    parser.add_argument("--small", type=int, default=5, help="models per sparsity of the small run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the four runs (default 3)")
    args = parser.parse_args()
    sizes = {k: resolve_settings("smoke", population_size=k, dense_population_size=k) for k in (args.small, args.k)}
    tasks = {k: len(planned_runs(settings)) for k, settings in sizes.items()}
    local, on_ray = ExecutorOptions(), ExecutorOptions(kind="ray")
    info = machine()
    print(f"machine: {info['processor']}, flags {' '.join(info['speed_flags'])}, {info['cores']} cores")
    started = time.perf_counter()
    import ray

    executor = RayExecutor()  # starts the Ray instance that the Ray runs below use
    print(f"ray {ray.__version__}: {executor.describe()}, started in {time.perf_counter() - started:.1f} s")
    timed_population(sizes[args.small], on_ray)  # warm-up: the Ray workers import torch once
    print(f"smoke profile, K = {args.small} and {args.k}: {tasks[args.small]} and {tasks[args.k]} tasks")
    overheads = []
    for round_ in range(args.rounds):
        seconds = {}
        for k, settings in sizes.items():
            seconds["local", k], local_results = timed_population(settings, local)
            seconds["ray", k], ray_results = timed_population(settings, on_ray)
            same_predictions(settings, local_results, ray_results)
        extra = tasks[args.k] - tasks[args.small]
        slope = {name: (seconds[name, args.k] - seconds[name, args.small]) / extra for name in ("local", "ray")}
        fixed = {name: seconds[name, args.small] - slope[name] * tasks[args.small] for name in ("local", "ray")}
        overheads.append(slope["ray"] - slope["local"])
        print(
            f"round {round_ + 1}: local {seconds['local', args.small]:.1f} s and {seconds['local', args.k]:.1f} s, "
            f"ray {seconds['ray', args.small]:.1f} s and {seconds['ray', args.k]:.1f} s; per task: local "
            f"{1000 * slope['local']:.0f} ms, ray {1000 * slope['ray']:.0f} ms; fixed per command: local "
            f"{fixed['local']:.1f} s, ray {fixed['ray']:.1f} s; same predictions"
        )
    print(f"overhead_per_task_ms={1000 * statistics.median(overheads):.0f}")


if __name__ == "__main__":
    main()
