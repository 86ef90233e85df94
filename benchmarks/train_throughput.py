"""The project's trainer against a plain PyTorch loop, side by side in one run, on the default model.

Both train the default profile's model with the same data, number of steps, batch size, learning-rate
schedule and seed: (a) as a user would write it, a DataLoader over a TensorDataset of normalized images
and torch.optim.SGD, in float32 and the default memory layout; (b) by ``train.train_model`` with its
defaults (channels-last, bfloat16 autocast where the CPU has it natively, batches cut from a uint8
tensor). For each it prints images/s, the achieved GFLOP/s (three times the forward pass's multiply-adds,
two FLOPs each), that rate as a fraction of a float32 2048^3 matrix product measured in the same run, and
top-1. The last line is ``ratio=<b/a>`` (images/s). ``--quick`` trains a quarter of the steps (< 60 s).

python benchmarks/train_throughput.py [--quick] [--profile fashion-mnist] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from pruning_impact.foundations.machine import cpu_model, machine
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.foundations.settings import Settings
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.models import build_model, multiply_adds
from pruning_impact.training.train import lr_at, train_model, training_precision


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """float32 matrix-product rate of this machine, with torch's default threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def plain_loop(settings: Settings, seed: int) -> tuple[float, float]:
    """(images/s, top-1) of a plain PyTorch training loop on the same data, steps and schedule."""
    cfg = settings.training
    data = load_dataset(settings.data)
    train_x = data.normalize(data.train_x)  # uint8 pixels, normalized once
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_x, data.train_y),
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(seed),
    )
    torch.manual_seed(seed)
    model = build_model(settings.model, data.image_shape, data.num_classes)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_at(step, cfg) / cfg.lr)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    step, started = 0, time.perf_counter()
    model.train()
    while step < cfg.steps:
        for x, y in loader:
            if step >= cfg.steps:
                break
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
    seconds = time.perf_counter() - started
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in data.test_batches(1000, torch.device("cpu")):
            correct += int((model(x).argmax(1) == y).sum())
    return cfg.steps * cfg.batch_size / seconds, correct / len(data.test_labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="fashion-mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a quarter of the steps (under a minute)")
    args = parser.parse_args()
    settings = get_profile(args.profile)
    if args.quick:
        steps = settings.training.steps // 4
        settings = settings.replace(
            training={"steps": steps}, pruning={"begin_step": steps // 10, "end_step": steps // 2}
        )
    data = load_dataset(settings.data)
    flops_per_image = (
        3 * 2 * multiply_adds(build_model(settings.model, data.image_shape, data.num_classes), data.image_shape)
    )
    info = machine()
    print(
        f"machine: {cpu_model()}, flags {' '.join(info['speed_flags'])}, {info['cores']} cores, torch threads {torch.get_num_threads()}"
    )
    print(
        f"model: {settings.model.arch} {settings.model.widths}, {flops_per_image / 6e6:.3f} M multiply-adds per image; "
        f"{settings.training.steps} steps of {settings.training.batch_size}"
    )
    peak = matmul_gflops()
    print(f"float32 matrix product: {peak:.0f} GFLOP/s")
    plain_rate, plain_top1 = plain_loop(settings, args.seed)
    trained = train_model(settings, 0.0, args.seed, progress=False)
    ours_rate, ours_top1 = trained.metrics["images_per_second"], trained.metrics["top1"]
    for name, rate, top1 in (
        ("plain loop", plain_rate, plain_top1),
        (f"trainer ({training_precision(settings)})", ours_rate, ours_top1),
    ):
        gflops = rate * flops_per_image / 1e9
        print(
            f"{name:>20}: {rate:8.0f} images/s, {gflops:6.1f} GFLOP/s ({gflops / peak:.0%} of the matrix product), top-1 {top1:.4f}"
        )
    print(f"top-1 difference {100 * (ours_top1 - plain_top1):+.2f} points")
    print(f"ratio={ours_rate / plain_rate:.2f}")


if __name__ == "__main__":
    main()
