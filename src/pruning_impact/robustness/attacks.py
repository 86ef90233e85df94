"""White-box adversarial examples in the L-infinity ball, with radii in pixel units (0-1 scale) and
inputs kept within valid pixels: FGSM (Goodfellow et al., 2015) and PGD (Madry et al., 2018).

Their gradients are computed in float32 even inside an autocast region (the robustness stage predicts
in bfloat16 where the CPU has it), so an attack is as strong on every machine."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from pruning_impact.training.images import pixel_bounds
from pruning_impact.training.inference import DEFAULT_BATCH_SIZE, batches


@torch.enable_grad()
@torch.autocast("cpu", enabled=False)
@torch.autocast("cuda", enabled=False)
def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, dataset: str) -> torch.Tensor:
    """One signed-gradient step of L-infinity size ``epsilon`` (pixel units), kept within valid pixels."""
    low, high, std = (t.to(x.device) for t in pixel_bounds(dataset))
    x = x.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    return torch.max(torch.min(x.detach() + epsilon / std * grad.sign(), high), low)


@torch.enable_grad()
@torch.autocast("cpu", enabled=False)
@torch.autocast("cuda", enabled=False)
def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    dataset: str,
    steps: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball (random start, step 2.5 * epsilon / steps)."""
    low, high, std = (t.to(x.device) for t in pixel_bounds(dataset))
    radius, step = epsilon / std, 2.5 * epsilon / steps / std
    start = (torch.rand(x.shape, generator=generator) * 2 - 1).to(x.device) * radius
    adv = torch.max(torch.min(x + start, high), low)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = nn.functional.cross_entropy(model(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step * grad.sign()
        adv = torch.max(torch.min(torch.max(torch.min(adv, x + radius), x - radius), high), low)
    return adv.detach()


def adversarial_batches(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    attack: str,
    epsilon: float,
    dataset: str,
    device: torch.device,
    pgd_steps: int = 10,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[torch.Tensor]:
    """Adversarial versions of ``inputs`` (normalized [N, C, H, W]) against ``model``, one batch at a time on
    ``device`` (so a large set never sits in memory whole); PGD's random starts come from one generator
    seeded with ``seed``. Feed them to ``inference.predict_logits``."""
    if attack not in ("fgsm", "pgd"):
        raise ValueError(f"unknown attack {attack!r}; use 'fgsm' or 'pgd'")
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    for x, y in zip(batches(inputs, batch_size), batches(labels, batch_size)):
        x = x.to(device).contiguous(memory_format=torch.channels_last)
        y = y.to(device)
        if attack == "fgsm":
            yield fgsm(model, x, y, epsilon, dataset)
        else:
            yield pgd(model, x, y, epsilon, dataset, pgd_steps, generator)
