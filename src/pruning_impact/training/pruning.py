"""Gradual magnitude pruning (Zhu & Gupta, 2017), as the paper applies it (its Section 6.1).

``PolynomialDecay`` says how sparse the model should be at a step; ``magnitude_masks`` turns
scores and a sparsity into keep-masks; both are pure. ``Pruner`` applies them to a model during
training: the forward pass sees masked weights, the raw weights keep training, and the masks are
recomputed at every update step up to ``end_step``. With the magnitude methods the scores are the raw
weights' magnitudes, so a weight pruned early can come back; with ``random`` they are random numbers
drawn once (``compression.random_scores``). After ``end_step`` the masks are fixed; ``finalize`` writes
exact zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from pruning_impact.foundations.errors import SettingsError
from pruning_impact.training.compression import check_pruning_method, mask_seed, random_scores, scope_of


@dataclass(frozen=True)
class PolynomialDecay:
    """Sparsity s(step) = s_f + (s_i - s_f) * (1 - p)^power, p = clip((step - begin)/(end - begin), 0, 1)."""

    initial_sparsity: float
    final_sparsity: float
    begin_step: int
    end_step: int
    frequency: int
    power: float = 3.0

    def __post_init__(self) -> None:
        if not 0 <= self.initial_sparsity < 1 or not 0 <= self.final_sparsity < 1:
            raise SettingsError("sparsities must lie in [0, 1)")
        if self.begin_step >= self.end_step:
            raise SettingsError(f"begin_step {self.begin_step} must be smaller than end_step {self.end_step}")
        if self.frequency < 1:
            raise SettingsError(f"frequency {self.frequency} must be >= 1")

    def sparsity_at(self, step: int) -> float:
        progress = min(max((step - self.begin_step) / (self.end_step - self.begin_step), 0.0), 1.0)
        return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * (1.0 - progress) ** self.power

    def is_update_step(self, step: int) -> bool:
        """True at begin_step + j * frequency inside [begin_step, end_step], and at end_step."""
        if step == self.end_step:
            return True
        return self.begin_step <= step < self.end_step and (step - self.begin_step) % self.frequency == 0

    def update_steps(self) -> list[int]:
        return [s for s in range(self.begin_step, self.end_step + 1) if self.is_update_step(s)]


def kept_count(size: int, sparsity: float) -> int:
    """How many of ``size`` weights survive ``sparsity``: round(size * (1 - sparsity)), as the authors' code."""
    return int(round(size * (1.0 - sparsity)))


def _top_k_mask(magnitudes: torch.Tensor, k: int) -> torch.Tensor:
    mask = torch.zeros(magnitudes.numel(), dtype=torch.bool, device=magnitudes.device)
    if k > 0:
        mask[torch.topk(magnitudes.flatten(), k, sorted=False).indices] = True
    return mask


def magnitude_masks(weights: dict[str, torch.Tensor], sparsity: float, scope: str = "layer") -> dict[str, torch.Tensor]:
    """Boolean keep-masks that keep the largest-magnitude weights.

    ``layer``: each tensor keeps round(n * (1 - sparsity)) of its n weights (the paper's setting).
    ``global``: all tensors are ranked together and round(total * (1 - sparsity)) are kept.
    Kept weights are never smaller in magnitude than dropped ones (ties are broken arbitrarily).
    """
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparsity {sparsity} is outside [0, 1]")
    if scope == "layer":
        return {
            name: _top_k_mask(w.detach().abs(), kept_count(w.numel(), sparsity)).view_as(w)
            for name, w in weights.items()
        }
    if scope == "global":
        flat = torch.cat([w.detach().abs().flatten() for w in weights.values()])
        keep = _top_k_mask(flat, kept_count(flat.numel(), sparsity))
        masks, start = {}, 0
        for name, w in weights.items():
            masks[name] = keep[start : start + w.numel()].view_as(w)
            start += w.numel()
        return masks
    raise ValueError(f"unknown pruning scope {scope!r}; use 'layer' or 'global'")


class _MaskedWeight(nn.Module):
    """Parametrization: the forward pass uses weight * mask.

    ``masked``: the gradient reaching the raw weight is masked too, as in the authors' code, so a
    pruned weight moves only by weight decay and momentum. ``straight_through``: the raw weight
    receives the dense gradient, the other reading of "removed weights continue to receive
    gradient updates".
    """

    def __init__(self, weight: torch.Tensor, straight_through: bool) -> None:
        super().__init__()
        self.straight_through = straight_through
        # same strides as the weight (e.g. channels-last), so the product keeps the fast layout
        self.register_buffer("mask", torch.ones_like(weight, dtype=torch.bool))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        masked = weight * self.mask
        if masked.stride() != weight.stride():
            # keep the weight's layout (e.g. channels-last with one input channel, which the product
            # loses): a convolution picks its output layout from its weight's, and a wrong one halves speed
            masked = torch.empty_like(weight).copy_(masked)
        if self.straight_through:
            return weight + (masked - weight).detach()
        return masked


def prunable_modules(model: nn.Module, prune_final_layer: bool = False) -> dict[str, nn.Module]:
    """Convolution and linear layers whose weights are pruned; the last linear layer only if asked."""
    layers = {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    if not prune_final_layer:
        last_linear = [name for name, m in layers.items() if isinstance(m, nn.Linear)]
        if last_linear:
            del layers[last_linear[-1]]
    return layers


class Pruner:
    """Applies a ``PolynomialDecay`` to a model's prunable weights during training, by a pruning ``method``
    (``compression``); the random method's scores are drawn from ``compression.mask_seed(seed)``."""

    def __init__(
        self,
        model: nn.Module,
        schedule: PolynomialDecay,
        method: str = "magnitude",
        update: str = "masked",
        prune_final_layer: bool = False,
        seed: int = 0,
    ) -> None:
        if update not in ("masked", "straight_through"):
            raise ValueError(f"unknown update rule {update!r}; use 'masked' or 'straight_through'")
        check_pruning_method(method)
        self.schedule = schedule
        self.method, self.scope = method, scope_of(method)
        self.modules = prunable_modules(model, prune_final_layer)
        if not self.modules:
            raise ValueError("the model has no convolution or linear layer to prune")
        for module in self.modules.values():
            parametrize.register_parametrization(
                module, "weight", _MaskedWeight(module.weight, update == "straight_through")
            )
        self.current_sparsity = 0.0
        self._finalized = False
        self.fixed_scores = (
            random_scores(self.raw_weights(), torch.Generator().manual_seed(mask_seed(seed)))
            if method == "random"
            else None
        )

    def raw_weights(self) -> dict[str, torch.Tensor]:
        """The trained, unmasked weights the masks are computed from."""
        return {name: m.parametrizations.weight.original for name, m in self.modules.items()}

    def masks(self) -> dict[str, torch.Tensor]:
        return {name: m.parametrizations.weight[0].mask for name, m in self.modules.items()}

    def scores(self) -> dict[str, torch.Tensor]:
        """What the masks keep the largest of: the raw weights (their magnitudes), or the fixed random scores."""
        return self.fixed_scores if self.fixed_scores is not None else self.raw_weights()

    @torch.no_grad()
    def step(self, step: int) -> float:
        """Recompute the masks if ``step`` is an update step; return the scheduled sparsity."""
        if self._finalized:
            raise RuntimeError("the pruner was finalized; the masks are fixed")
        if self.schedule.is_update_step(step):
            self.current_sparsity = self.schedule.sparsity_at(step)
            new_masks = magnitude_masks(self.scores(), self.current_sparsity, self.scope)
            for name, mask in self.masks().items():
                mask.copy_(new_masks[name])
        return self.current_sparsity

    @torch.no_grad()
    def finalize(self) -> None:
        """Remove the parametrizations, leaving weight = raw * mask (exact zeros where pruned)."""
        for module in self.modules.values():
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        self._finalized = True


def layer_sparsities(model: nn.Module, prune_final_layer: bool = False) -> dict[str, float]:
    """Fraction of exact zeros in each prunable layer's weight."""
    return {
        name: float((m.weight == 0).float().mean()) for name, m in prunable_modules(model, prune_final_layer).items()
    }


SPARSITY_TOLERANCE = 0.01  # a pruned tensor may hold a few more zeros than its mask (trained weights at exactly 0)


def sparsity_problems(
    model: nn.Module, sparsity: float, scope: str = "layer", prune_final_layer: bool = False
) -> list[str]:
    """What is wrong with a model said to be pruned to ``sparsity`` (empty when nothing is).

    ``layer``: every pruned tensor keeps at most round(n * (1 - sparsity)) of its n weights;
    ``global``: all of them together do. In both, the fraction of zeros may exceed the target by at
    most ``SPARSITY_TOLERANCE``, so a model pruned further than said is caught too.
    """
    layers = prunable_modules(model, prune_final_layer)
    groups = (
        {name: [m.weight] for name, m in layers.items()}
        if scope == "layer"
        else {"all pruned layers": [m.weight for m in layers.values()]}
    )
    problems = []
    for name, weights in groups.items():
        size = sum(w.numel() for w in weights)
        nonzero = sum(int((w != 0).sum()) for w in weights)
        kept, zeros = kept_count(size, sparsity), 1 - nonzero / size
        if nonzero > kept or zeros > sparsity + SPARSITY_TOLERANCE:
            problems.append(
                f"{name}: {nonzero} of {size} weights are non-zero (sparsity {zeros:.4f}), "
                f"expected {kept} (sparsity {sparsity:g})"
            )
    return problems
