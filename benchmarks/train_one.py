"""Train one model of a profile (default: fashion-mnist) and print images/s, wall time and top-1.

python benchmarks/train_one.py [--profile fashion-mnist] [--sparsity 0.9] [--seed 0]
"""

import argparse
import time

from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.training.train import train_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="fashion-mnist")
    parser.add_argument("--sparsity", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = get_profile(args.profile)
    started = time.perf_counter()
    trained = train_model(settings, args.sparsity, args.seed, progress=True)
    wall = time.perf_counter() - started
    m = trained.metrics
    print(
        f"profile {args.profile} sparsity {args.sparsity}: {m['images_per_second']:.0f} images/s in training, "
        f"{m['train_seconds']:.1f} s training, {wall:.1f} s wall (with data loading and test predictions), "
        f"top-1 {m['top1']:.4f}, top-5 {m['top5']:.4f}, device {m['device']}, CPU {cpu_model()}"
    )


if __name__ == "__main__":
    main()
