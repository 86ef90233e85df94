"""The whole analysis at ImageNet scale on random predictions: K = 30 models at each of 6 sparsities,
N = 50,000 test examples, C = 1,000 classes. Target: <= 10 s and <= 2 GB on a 2-core CPU.

    python benchmarks/analysis_scale.py [--k 30] [--n 50000] [--classes 1000]

Prints seconds and peak memory of the analysis as its last line.
"""

import argparse
import resource
import time
import tracemalloc

import numpy as np

from pruning_impact.analysis.predictions import Population
from pruning_impact.analysis.run import analyze
from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.profiles import get_profile


def random_population(k: int, n: int, classes: int, seed: int = 0) -> Population:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    settings = get_profile("imagenet-resnet50").replace(population={"population_size": k})
    top1, top5 = {}, {}
    for level, sparsity in enumerate(settings.population.sparsities):
        accuracy = 0.76 - 0.04 * level
        right = rng.random((k, n)) < accuracy
        guesses = rng.integers(0, classes, (k, n, 5)).astype(np.int16)
        guesses[..., 0] = np.where(right, labels, guesses[..., 0])
        top5[sparsity] = guesses
        top1[sparsity] = guesses[..., 0].astype(np.int64)
    return Population(settings, tuple(f"class {c}" for c in range(classes)), labels, top1, top5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=1_000)
    args = parser.parse_args()
    population = random_population(args.k, args.n, args.classes)
    before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    started = time.perf_counter()
    tables = analyze(population, AnalysisOptions(correction="fdr_bh", repeats=20, random_samples=100))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = tables["class_summary"]
    print(summary[["sparsity", "correction", "n_significant"]].to_string(index=False))
    print(f"CPU: {cpu_model()}")
    print(
        f"K={args.k} x 6 levels, N={args.n}, C={args.classes}: analysis {seconds:.2f} s, "
        f"peak memory of the analysis {peak / 2**20:.0f} MiB (process peak RSS {rss:.0f} MiB, "
        f"{before_rss:.0f} MiB before the analysis)"
    )


if __name__ == "__main__":
    main()
