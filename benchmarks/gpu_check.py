"""What one GPU does for the paper's CIFAR-10 population: the ``cifar10-wrn`` profile's model (WRN-28-10) on
CIFAR-shaped images (CIFAR-10 when it is present, synthetic otherwise). Finishes in under 8 minutes on one
H100/H200. Prints, one figure per line:

- training images/s with mixed precision (float16 autocast on CUDA, as the trainer), one model at a time,
  and population-grouped (``--group`` models stepped together: their parameters stacked and the step
  vectorised over them with ``torch.func``, each model its own batch);
- the achieved TFLOP/s (three times the forward multiply-adds, two FLOPs each) as a fraction of the
  card's dense 16-bit peak (from its name, where known) and of a 16-bit 8192^3 matrix product measured here;
- the peak GPU memory of each;
- robustness throughput: inference images/s on corrupted images (the corruption computed on the host,
  images/s of that too) and PGD-10 attack images/s;
- the estimated GPU-hours of the paper's CIFAR-10 population (K = 30 at five sparse levels and 3K = 90
  dense models, 80,000 steps of batch 128 each) on this GPU at the better training rate.

Without a GPU it runs on the CPU (``--tiny``: a WRN-10-1, a few steps), so the test suite covers it.

    python benchmarks/gpu_check.py [--tiny] [--device cuda|cpu] [--seconds 20] [--group 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from torch import nn

from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.robustness.attacks import pgd
from pruning_impact.robustness.corruptions import corrupt
from pruning_impact.training.datasets import CIFAR10_FOLDER, CIFAR10_TEST_BATCH, load_dataset
from pruning_impact.training.images import images_to_input
from pruning_impact.training.inference import autocast, mixed_precision, predict_logits
from pruning_impact.training.models import build_model, multiply_adds
from pruning_impact.training.train import build_optimizer

DENSE_16BIT_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0}
"""Dense (no sparsity) float16/bfloat16 tensor-core peak of known cards, from their makers' data sheets."""


def cifar_images(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``count`` CIFAR-10 test images as uint8 [N, 3, 32, 32] with labels, or synthetic ones when absent."""
    settings = get_profile("cifar10-wrn")
    folder = Path(settings.data.data_dir) / CIFAR10_FOLDER
    if (folder / CIFAR10_TEST_BATCH).is_file():  # never a download: a GPU machine may have no internet
        data = load_dataset(settings.data)
        return data.test_x[:count], data.test_labels[:count].clone(), "CIFAR-10"
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return images, labels, f"synthetic (no CIFAR-10 in {folder})"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(step, device: torch.device, seconds: float, warmup: int) -> tuple[int, float]:
    """Steps of ``step()`` done in about ``seconds`` after ``warmup`` untimed ones, and the time they took."""
    for _ in range(warmup):
        step()
    synchronize(device)
    started, done = time.perf_counter(), 0
    while True:
        step()
        done += 1
        if done % 5 == 0 or device.type != "cuda":
            synchronize(device)
            if time.perf_counter() - started >= seconds:
                return done, time.perf_counter() - started


def peak_tflops(device: torch.device, dtype: torch.dtype, size: int) -> float:
    """Measured rate of a ``size``^3 matrix product in ``dtype`` (float32 without mixed precision)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    steps, seconds = timed_steps(lambda: a @ b, device, 2.0, 3)
    return 2 * size**3 * steps / seconds / 1e12


def single_training(model_settings, data, batch: int, device, precision, seconds: float) -> tuple[float, float]:
    """(images/s, peak MiB) of training one model as the trainer does: channels-last, autocast, SGD."""
    torch.manual_seed(0)
    model = build_model(model_settings, (3, 32, 32), 10).to(device, memory_format=torch.channels_last)
    settings = get_profile("cifar10-wrn")
    optimizer = build_optimizer(model, settings.training)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == torch.float16)
    loss_fn = nn.CrossEntropyLoss()
    x = data[0][:batch].to(device).contiguous(memory_format=torch.channels_last)
    y = data[1][:batch].to(device)
    model.train()

    def step():
        with autocast(device, precision):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return _rate(step, device, batch, seconds)


def grouped_training(model_settings, data, batch: int, group: int, device, precision, seconds: float):
    """(images/s, peak MiB) of ``group`` models stepped together: stacked parameters, one vectorised step."""
    from torch.func import functional_call, grad_and_value, replace_all_batch_norm_modules_, stack_module_state, vmap

    torch.manual_seed(0)
    models = [build_model(model_settings, (3, 32, 32), 10).to(device) for _ in range(group)]
    for model in models:
        replace_all_batch_norm_modules_(model)  # batch statistics only: vmap cannot update running ones
    params, buffers = stack_module_state(models)
    base = models[0]
    loss_fn = nn.CrossEntropyLoss()

    def loss_of(p, b, x, y):
        # 16-bit compute on float32 weights by casting (autocast's batch norm has no vmap backward)
        if precision is not None:
            p, x = {key: value.to(precision) for key, value in p.items()}, x.to(precision)
        return loss_fn(functional_call(base, (p, b), (x,)).float(), y)

    step_all = vmap(grad_and_value(loss_of), in_dims=(0, 0, 0, 0))
    momentum = {name: torch.zeros_like(value) for name, value in params.items()}
    xs = torch.stack([data[0][:batch]] * group).to(device)
    ys = torch.stack([data[1][:batch]] * group).to(device)

    training = get_profile("cifar10-wrn").training

    def step():
        grads, _ = step_all(params, buffers, xs, ys)
        with torch.no_grad():
            for name, value in params.items():  # the profile's SGD, element by element
                momentum[name].mul_(training.momentum).add_(grads[name] + training.weight_decay * value)
                value.sub_(training.lr * momentum[name])

    return _rate(step, device, batch * group, seconds)


def _rate(step, device: torch.device, images_per_step: int, seconds: float) -> tuple[float, float]:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps, elapsed = timed_steps(step, device, seconds, warmup=3)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return steps * images_per_step / elapsed, peak


def robustness_rates(model_settings, images, labels, device, precision, count: int, batch: int) -> dict[str, float]:
    """Images/s of corrupting ``images`` (uint8) on the host, of inference on the corrupted images and of a
    PGD-10 attack."""
    torch.manual_seed(0)
    model = build_model(model_settings, (3, 32, 32), 10).to(device, memory_format=torch.channels_last).eval()
    images, labels = images[:count], labels[:count]
    started = time.perf_counter()
    corrupted = corrupt(images.permute(0, 2, 3, 1).numpy(), "gaussian_noise", 3)  # [N, H, W, C] uint8, as stored
    corrupting = count / (time.perf_counter() - started)
    inputs = images_to_input("cifar10", corrupted)
    predict_logits(model, inputs[:batch], device, batch, precision)  # warm-up
    synchronize(device)
    started = time.perf_counter()
    predict_logits(model, inputs, device, batch, precision)
    inference = count / (time.perf_counter() - started)
    generator = torch.Generator().manual_seed(0)
    attacked = min(count, 4 * batch)
    x, y = inputs[:attacked].to(device), labels[:attacked].to(device)
    pgd(model, x[:batch], y[:batch], 8 / 255, "cifar10", 10, generator)  # warm-up
    synchronize(device)
    started = time.perf_counter()
    for start in range(0, attacked, batch):
        pgd(model, x[start : start + batch], y[start : start + batch], 8 / 255, "cifar10", 10, generator)
    synchronize(device)
    return {"corrupt_host": corrupting, "inference": inference, "pgd10": attacked / (time.perf_counter() - started)}


def population_hours(images_per_second: float) -> float:
    """GPU-hours to train the paper's CIFAR-10 population (the ``cifar10-wrn`` profile's sizes and steps)."""
    settings = get_profile("cifar10-wrn")
    pop, training = settings.population, settings.training
    models = sum(pop.size_at(sparsity) for sparsity in pop.sparsities)
    return models * training.steps * training.batch_size / images_per_second / 3600


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="a WRN-10-1, small batches, about a second per figure")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per training measurement")
    parser.add_argument("--group", type=int, default=4, help="models stepped together in the grouped measurement")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    settings = get_profile("cifar10-wrn")
    model_settings = settings.model
    batch, seconds, count, matrix = settings.training.batch_size, args.seconds or 30.0, 2048, 8192
    if args.tiny:
        model_settings = dataclasses.replace(model_settings, depth=10, widen_factor=1)
        batch, seconds, count, matrix = 8, args.seconds or 0.5, 32, 256
    precision = mixed_precision(device, settings.training.amp)
    images, labels, source = cifar_images(max(count, batch))
    data = (images_to_input("cifar10", images.permute(0, 2, 3, 1).numpy()), labels)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    print(f"device: {name} ({device.type}); data: {source}; precision: {precision or torch.float32}")
    flops_per_image = 3 * 2 * multiply_adds(build_model(model_settings, (3, 32, 32), 10), (3, 32, 32))
    measured_peak = peak_tflops(device, precision or torch.float32, matrix)
    spec_peak = next((peak for key, peak in DENSE_16BIT_TFLOPS.items() if key in name), None)
    print(f"matrix product {matrix}^3 in {precision or torch.float32}: {measured_peak:.3g} TFLOP/s")
    figures = {"matmul_tflops": measured_peak}
    rates = {}
    for kind in ("single", f"grouped x{args.group}"):
        if kind == "single":
            rate, peak = single_training(model_settings, data, batch, device, precision, seconds)
        else:
            try:
                rate, peak = grouped_training(model_settings, data, batch, args.group, device, precision, seconds)
            except RuntimeError as error:  # out of memory, or an op torch.func cannot vectorise on this card
                print(f"training {kind}: failed ({str(error).splitlines()[0][:160]})")
                continue
        achieved = rate * flops_per_image / 1e12
        spec = f", {achieved / spec_peak:.1%} of the card's dense 16-bit peak {spec_peak:.0f}" if spec_peak else ""
        print(
            f"training {kind}: {rate:,.0f} images/s, {achieved:.3g} TFLOP/s ({achieved / measured_peak:.1%} of the "
            f"measured matrix product{spec}), peak GPU memory {f'{peak:,.0f} MiB' if peak is not None else 'n/a (CPU)'}"
        )
        rates[kind] = rate
        figures[f"train_{kind.split()[0]}_images_per_s"] = rate
        figures[f"train_{kind.split()[0]}_peak_mib"] = peak
    robustness = robustness_rates(model_settings, images, labels, device, precision, count, batch)
    print(
        f"robustness: corrupting {robustness['corrupt_host']:,.0f} images/s (host), inference on corrupted "
        f"images {robustness['inference']:,.0f} images/s, PGD-10 attack {robustness['pgd10']:,.0f} images/s"
    )
    figures.update({f"{key}_images_per_s": value for key, value in robustness.items()})
    best = max(rates.values())
    hours = population_hours(best)
    figures["population_gpu_hours"] = hours
    what = "this tiny model" if args.tiny else "WRN-28-10"
    print(
        f"paper's CIFAR-10 population (K=30 x 5 levels + 90 dense, 80,000 steps of 128) with {what}: {hours:,.1f} GPU-hours"
    )
    return figures


if __name__ == "__main__":
    main()
