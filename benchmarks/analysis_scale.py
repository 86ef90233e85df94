"""The whole analysis at ImageNet scale with the default analysis options: K = 30 models at each of 5
sparse levels and 3K = 90 dense models, N = 50,000 test images, C = 1,000 classes.
Target: <= 30 s and <= 2 GB on a 2-core CPU.

    python benchmarks/analysis_scale.py [--predictions imagenet-like|uniform] [--k 30] [--n 50000] [--classes 1000]

``imagenet-like`` (the default) draws predictions shaped like real ImageNet models': 76% top-1 for the
dense models, a little less at each sparsity, models that agree on which images are hard (a shared
difficulty per image), and wrong answers that mostly fall on a few confusable classes per image.
``uniform`` makes every wrong answer a uniform random guess (many distinct labels per image).

Prints the class-level counts, then the CPU, and on its last line ``seconds=`` and ``peak_mib=`` (the
analysis's peak of traced allocations).
"""

import argparse
import time
import tracemalloc

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from pruning_impact.analysis.predictions import Population
from pruning_impact.analysis.run import analyze
from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.profiles import get_profile

DENSE_TOP1 = 0.76
LOSS_PER_LEVEL = 0.006  # top-1 lost at each sparser level (ImageNet ResNet-50 at 90%: about 3 points)
CONFUSERS = 4  # plausible wrong classes per image
DIFFICULTY = 2.5  # weight of the image's shared difficulty: models agree on what is hard


def imagenet_like(k: int, n: int, classes: int, seed: int = 0) -> Population:
    """A population whose models share each image's difficulty and its few confusable classes."""
    rng = np.random.default_rng(seed)
    settings = get_profile("imagenet-resnet50").replace(
        population={"population_size": k, "dense_population_size": 3 * k}
    )
    labels = rng.integers(0, classes, n)
    difficulty = rng.standard_normal(n)
    confusers = (labels[:, None] + rng.integers(1, classes, (n, CONFUSERS))) % classes  # never the label
    weights = rng.dirichlet(np.full(CONFUSERS, 0.5), n)
    top1, top5 = {}, {}
    for level, sparsity in enumerate(settings.population.sparsities):
        size = settings.population.size_at(sparsity)
        target = DENSE_TOP1 - LOSS_PER_LEVEL * level
        skill = rng.normal(0, 0.15, (size, 1))
        # the offset that makes the expected top-1 the target
        offset = brentq(lambda a, t=target: expit(a - DIFFICULTY * difficulty).mean() - t, -10, 10)
        logit = offset + skill - DIFFICULTY * difficulty + rng.normal(0, 0.5, (size, n))
        right = rng.random((size, n)) < expit(logit)
        cumulative = weights.cumsum(axis=1)
        pick = (rng.random((size, n, 1)) > cumulative[None]).sum(axis=2).clip(max=CONFUSERS - 1)
        wrong = np.where(
            rng.random((size, n)) < 0.85,
            np.take_along_axis(confusers, pick.T, axis=1).T,
            rng.integers(0, classes, (size, n)),
        )
        first = np.where(right, labels, wrong)
        guesses = np.broadcast_to(confusers, (size, n, CONFUSERS)).copy()
        # the label among the other four guesses for most images a model gets wrong (top-5 above 90%)
        guesses[..., -1] = np.where(~right & (rng.random((size, n)) < 0.7), labels, guesses[..., -1])
        top5[sparsity] = np.concatenate([first[..., None], guesses], axis=2).astype(np.int16)
        top1[sparsity] = first.astype(np.int64)
    return Population(settings, tuple(f"class {c}" for c in range(classes)), labels, top1, top5)


def uniform(k: int, n: int, classes: int, seed: int = 0) -> Population:
    """A population whose wrong answers are uniform random guesses, independent between models."""
    rng = np.random.default_rng(seed)
    settings = get_profile("imagenet-resnet50").replace(
        population={"population_size": k, "dense_population_size": 3 * k}
    )
    labels = rng.integers(0, classes, n)
    top1, top5 = {}, {}
    for level, sparsity in enumerate(settings.population.sparsities):
        size = settings.population.size_at(sparsity)
        right = rng.random((size, n)) < DENSE_TOP1 - LOSS_PER_LEVEL * level
        guesses = rng.integers(0, classes, (size, n, 5)).astype(np.int16)
        guesses[..., 0] = np.where(right, labels, guesses[..., 0])
        top5[sparsity] = guesses
        top1[sparsity] = guesses[..., 0].astype(np.int64)
    return Population(settings, tuple(f"class {c}" for c in range(classes)), labels, top1, top5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", choices=("imagenet-like", "uniform"), default="imagenet-like")
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=1_000)
    args = parser.parse_args()
    make = imagenet_like if args.predictions == "imagenet-like" else uniform
    population = make(args.k, args.n, args.classes)
    options = AnalysisOptions()
    tracemalloc.start()
    started = time.perf_counter()
    tables = analyze(population, options)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    summary = tables["class_summary"]
    print(summary[["sparsity", "correction", "n_significant"]].to_string(index=False))
    print(tables["toplines"][["sparsity", "top1_mean", "n_pie"]].to_string(index=False))
    print(f"CPU: {cpu_model()}")
    print(
        f"{args.predictions} predictions, K={args.k} x {len(population.sparse_levels)} sparse levels and "
        f"{len(population.top1[0.0])} dense models, N={args.n}, C={args.classes}, options: repeats={options.repeats} "
        f"permutations={options.permutations} random_samples={options.random_samples}"
    )
    print(f"seconds={seconds:.2f} peak_mib={peak / 2**20:.0f}")


if __name__ == "__main__":
    main()
