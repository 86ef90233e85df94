"""Robustness evaluation against training, per image, side by side in one process.

The robustness stage predicts tens of thousands of corrupted images per model, so its inference must be
much cheaper per image than training. This measures, on the default profile's model and with the threads
of one worker (one by default), rounds of (a) training steps as the trainer takes them (channels-last,
bfloat16 autocast where native) and (b) inference as ``robustness`` runs it (batch norms folded into the
convolutions, the same autocast, the profile's evaluation batch, uint8 images converted on the way),
interleaved so that a noisy host affects both alike (folding, once per model, is timed apart). Prints the median images/s of each; the last line is
``ratio=<inference / training>``.

python benchmarks/inference_throughput.py [--profile fashion-mnist] [--threads 1] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.training.images import images_to_input
from pruning_impact.training.inference import autocast, mixed_precision, predict_logits
from pruning_impact.training.models import build_model, inference_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="fashion-mnist")
    parser.add_argument("--threads", type=int, default=1, help="threads, as one worker process has (default 1)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = get_profile(args.profile)
    shape = {"fashion-mnist": (1, 28, 28), "synthetic": (1, 12, 12)}.get(settings.data.dataset, (3, 32, 32))
    device, cfg = torch.device("cpu"), settings.training
    precision = mixed_precision(device, cfg.amp)
    torch.manual_seed(0)
    model = build_model(settings.model, shape, 10).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x = torch.randn(cfg.batch_size, *shape).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (cfg.batch_size,))
    images = np.random.default_rng(0).integers(0, 256, (10_000, *shape[1:], shape[0]), dtype=np.uint8)
    images = images[..., 0] if shape[0] == 1 else images
    dataset = settings.data.dataset if settings.data.dataset != "synthetic" else "fashion-mnist"

    def train(steps: int = 40) -> float:
        model.train()
        started = time.perf_counter()
        for _ in range(steps):
            with autocast(device, precision):
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return steps * cfg.batch_size / (time.perf_counter() - started)

    started = time.perf_counter()
    evaluated = inference_model(model.eval())  # once per model in the robustness stage
    folding = time.perf_counter() - started

    def infer() -> float:
        started = time.perf_counter()
        predict_logits(evaluated, images_to_input(dataset, images), device, cfg.eval_batch_size, precision)
        return len(images) / (time.perf_counter() - started)

    train(5), infer()
    rates = {"training": [], "inference": []}
    for _ in range(args.rounds):
        rates["training"].append(train())
        rates["inference"].append(infer())
    info = machine()
    print(f"machine: {info['processor']}, flags {' '.join(info['speed_flags'])}, {args.threads} thread(s)")
    print(f"number type: {precision or torch.float32}; evaluation batch {cfg.eval_batch_size}")
    print(f"folding the batch norms: {1000 * folding:.0f} ms, once per model")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"{name:>10}: {value:9.0f} images/s (median of {args.rounds} rounds)")
    print(f"ratio={medians['inference'] / medians['training']:.2f}")


if __name__ == "__main__":
    main()
