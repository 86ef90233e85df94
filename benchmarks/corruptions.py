"""Generate all 15 corruptions x 5 severities of the Fashion-MNIST test set (10,000 images each) and
print the seconds per corruption and in total. Target: <= 3 minutes on a 2-core CPU.

    python benchmarks/corruptions.py [--n 10000]
"""

import argparse
import time

import numpy as np

from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.settings import DataSettings
from pruning_impact.robustness.corruptions import CORRUPTIONS, corrupt
from pruning_impact.training.datasets import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    images = load_dataset(DataSettings(dataset="fashion-mnist")).test_images(np.arange(args.n))
    total = time.perf_counter()
    for name in CORRUPTIONS:
        started = time.perf_counter()
        for severity in range(1, 6):
            corrupt(images, name, severity, seed=0)
        print(f"{name:18s} {time.perf_counter() - started:6.1f} s for 5 severities", flush=True)
    print(f"15 corruptions x 5 severities x {len(images)} images: {time.perf_counter() - total:.1f} s on {cpu_model()}")


if __name__ == "__main__":
    main()
