"""Candidate CNNs for the default Fashion-MNIST profile: multiply-adds, training images/s and top-1.

Each candidate is a stack of conv 3x3 -> batch norm -> ReLU blocks, trained with the default profile's
recipe through the project's trainer (one-cycle SGD, batch 256, lr 0.4, channels-last, bfloat16 where
native), dense, then scored on the test set. The table in ``benchmarks/NOTES.md`` came from these
candidates (in float32, through a copy of the trainer's loop).

python benchmarks/architectures.py [--epochs 2] [--seeds 0] [--only strided-flat old]
"""

from __future__ import annotations

import argparse

from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.models import build_model, multiply_adds
from pruning_impact.training.train import train_model

# name -> ModelSettings fields
CANDIDATES = {
    "old": {"widths": (16, 32, 64), "downsample": "maxpool", "head": "avgpool"},
    "narrow-pool": {"widths": (8, 16, 32), "downsample": "maxpool", "head": "avgpool"},
    "mid-pool": {"widths": (12, 24, 48), "downsample": "maxpool", "head": "avgpool"},
    "strided-avg": {"widths": (16, 32, 64), "downsample": "stride", "head": "avgpool"},
    "strided-flat": {"widths": (16, 32, 64), "downsample": "stride", "head": "flatten"},
    "strided-flat-48": {"widths": (16, 32, 48), "downsample": "stride", "head": "flatten"},
    "strided-flat-96": {"widths": (16, 32, 96), "downsample": "stride", "head": "flatten"},
    "strided-wide-avg": {"widths": (32, 64, 128), "downsample": "stride", "head": "avgpool"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), help="candidates to run (default: all)")
    parser.add_argument("--profile", default="fashion-mnist")
    args = parser.parse_args()
    base = get_profile(args.profile)
    data = load_dataset(base.data)
    steps = max(int(args.epochs * data.steps_per_epoch(base.training.batch_size)), 2)
    info = machine()
    print(f"machine: {info['processor']}, flags {' '.join(info['speed_flags'])}, {info['cores']} cores")
    print(f"{'candidate':>17} {'M mult-adds':>11} {'images/s':>9} top-1 ({steps} steps, seeds {args.seeds})")
    for name in args.only or CANDIDATES:
        pruning = {"begin_step": round(0.1 * steps), "end_step": max(round(0.6 * steps), round(0.1 * steps) + 1)}
        settings = base.replace(model=CANDIDATES[name], training={"steps": steps}, pruning=pruning)
        cost = multiply_adds(build_model(settings.model, data.image_shape, data.num_classes), data.image_shape)
        runs = [train_model(settings, 0.0, seed, progress=False).metrics for seed in args.seeds]
        rate = sum(m["images_per_second"] for m in runs) / len(runs)
        print(f"{name:>17} {cost / 1e6:11.3f} {rate:9.0f} " + " ".join(f"{m['top1']:.4f}" for m in runs))


if __name__ == "__main__":
    main()
