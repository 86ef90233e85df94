"""Population-vectorised training: several small CNNs stepped together as one network of grouped layers.

For a GPU, which one small model leaves mostly idle (``training.models_per_step``). Model m's convolution
weights are the m-th block of a grouped convolution's output channels, its batch norm the m-th block of
channels and its classifier the m-th slice of a batched product. Each model keeps its own initialisation,
its own batches in its own seed's order, and its own pruning schedule; the loss is the sum of the models'
losses, so each gradient is the one the model would get alone, and SGD with momentum and weight decay acts
element by element. Each model therefore trains as it would alone, up to the order of floating-point sums
(with float16 on a GPU, one gradient scaler serves the group: a step that overflows in one model is
skipped for all of them).
The trained group is split back into separate models, checked and stored like any other run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import torch
from torch import nn
from tqdm import tqdm

from pruning_impact.foundations.errors import SettingsError, TrainingDivergedError
from pruning_impact.foundations.settings import Settings
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.images import ImageData
from pruning_impact.training.inference import autocast, mixed_precision
from pruning_impact.training.models import SmallCNN, build_model
from pruning_impact.training.pruning import PolynomialDecay, Pruner, magnitude_masks
from pruning_impact.training.train import (
    TrainedModel,
    build_optimizer,
    finish_model,
    lr_at,
    pruning_schedule,
    resolve_device,
)


class GroupedSmallCNN(nn.Module):
    """M ``SmallCNN``s of one shape as one network: input [B, M * C, H, W] (model m's batch in channel
    block m), output logits [B, M, classes]."""

    def __init__(self, models: list[SmallCNN]) -> None:
        super().__init__()
        self.size = len(models)
        layers = []
        for position, layer in enumerate(models[0].features):
            same = [m.features[position] for m in models]
            if isinstance(layer, nn.Conv2d):
                grouped = nn.Conv2d(
                    self.size * layer.in_channels,
                    self.size * layer.out_channels,
                    layer.kernel_size,
                    layer.stride,
                    layer.padding,
                    layer.dilation,
                    groups=self.size * layer.groups,
                    bias=layer.bias is not None,
                )
            elif isinstance(layer, nn.BatchNorm2d):
                grouped = nn.BatchNorm2d(self.size * layer.num_features, eps=layer.eps, momentum=layer.momentum)
            else:  # ReLU, max-pool: no state, act channel by channel
                grouped = layer
            for name, tensor in grouped.state_dict().items():
                if name != "num_batches_tracked":
                    tensor.copy_(torch.cat([m.state_dict()[name] for m in same]))
            layers.append(grouped)
        self.features = nn.Sequential(*layers)
        self.pool = models[0].pool
        self.weight = nn.Parameter(torch.stack([m.classifier.weight.detach() for m in models]))
        self.bias = nn.Parameter(torch.stack([m.classifier.bias.detach() for m in models]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.pool(self.features(x)).flatten(1).view(len(x), self.size, -1)
        return torch.einsum("bmf,mcf->bmc", features, self.weight) + self.bias

    @torch.no_grad()
    def split(self, models: list[SmallCNN]) -> None:
        """Copy model m's trained parameters and batch-norm statistics back into ``models[m]``."""
        for position, grouped in enumerate(self.features):
            for name, tensor in grouped.state_dict().items():
                if name == "num_batches_tracked":
                    for m in models:
                        m.features[position].state_dict()[name].copy_(tensor)
                    continue
                for m, block in zip(models, tensor.chunk(self.size)):
                    m.features[position].state_dict()[name].copy_(block)
        for m, weight, bias in zip(models, self.weight, self.bias):
            m.classifier.weight.copy_(weight)
            m.classifier.bias.copy_(bias)


class GroupedPruner(Pruner):
    """Gradual magnitude pruning of each model of a ``GroupedSmallCNN`` to its own final sparsity: the masks
    of model m are computed from its block of every pruned weight alone (None: a dense model, never masked)."""

    def __init__(self, model: GroupedSmallCNN, schedules: list[PolynomialDecay | None], method: str, update: str):
        pruning = next(s for s in schedules if s is not None)
        super().__init__(model, pruning, method, update, prune_final_layer=False)
        self.schedules, self.size = schedules, model.size

    @torch.no_grad()
    def step(self, step: int) -> float:
        if not self.schedule.is_update_step(step):  # every model shares the update steps
            return self.current_sparsity
        self.current_sparsity = self.schedule.sparsity_at(step)
        raw, masks = self.raw_weights(), self.masks()
        for m, schedule in enumerate(self.schedules):
            if schedule is None:
                continue
            blocks = {name: weight.chunk(self.size)[m] for name, weight in raw.items()}
            for name, mask in magnitude_masks(blocks, schedule.sparsity_at(step), self.scope).items():
                masks[name].chunk(self.size)[m].copy_(mask)
        return self.current_sparsity


def _group_batches(data: ImageData, batch_size: int, generators: list[torch.Generator], device: torch.device):
    """Endless (x [B, M * C, H, W], y [B * M]) batches: model m's images, in its own order, in channel block m."""
    while True:
        epochs = [data.train_batches(batch_size, g, device) for g in generators]
        for batches in zip(*epochs):
            xs, ys = zip(*batches)
            yield torch.cat(xs, dim=1), torch.stack(ys, dim=1).flatten()


def train_group(settings: Settings, runs: list[tuple[float, int]], progress: bool = True) -> Iterator[TrainedModel]:
    """Train the models ``runs`` (sparsity, seed) together; yield each finished model in their order."""
    train_cfg, prune_cfg = settings.training, settings.pruning
    if settings.model.arch != "small-cnn":
        raise SettingsError(
            f"invalid setting training.models_per_step: training models together needs model.arch small-cnn, "
            f"not {settings.model.arch}; set models_per_step to 1"
        )
    if settings.training.checkpoints and any(sparsity == 0 for sparsity, _ in runs):
        raise SettingsError(
            "invalid setting training.models_per_step: checkpoints are kept of dense models trained alone; "
            "set models_per_step to 1 or training.checkpoints to 0"
        )
    if settings.population.method == "random":
        raise SettingsError(
            "invalid setting training.models_per_step: random masks are drawn per model when it trains alone; "
            "set models_per_step to 1 for population.method random"
        )
    if prune_cfg.prune_final_layer:
        raise SettingsError(
            "invalid setting training.models_per_step: the grouped classifier cannot be pruned; "
            "set pruning.prune_final_layer to false or models_per_step to 1"
        )
    device = resolve_device(train_cfg.device)
    data = load_dataset(settings.data)
    models, generators = [], []
    for _, seed in runs:  # each model starts as it would alone
        torch.manual_seed(seed)
        models.append(build_model(settings.model, data.image_shape, data.num_classes))
        generators.append(torch.Generator().manual_seed(seed))
    group = GroupedSmallCNN(models).to(device, memory_format=torch.channels_last)
    schedules = [pruning_schedule(prune_cfg, s) if s > 0 else None for s, _ in runs]
    pruner = None
    if any(schedules):
        pruner = GroupedPruner(group, schedules, settings.population.method, prune_cfg.update)
    optimizer = build_optimizer(group, train_cfg)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=train_cfg.label_smoothing)
    precision = mixed_precision(device, train_cfg.amp)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == torch.float16)
    batches = _group_batches(data, train_cfg.batch_size, generators, device)
    started = time.perf_counter()
    group.train()
    for step in tqdm(range(train_cfg.steps), desc=f"{len(runs)} models together", leave=False, disable=not progress):
        if pruner is not None:
            pruner.step(step)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_at(step, train_cfg)
        x, y = next(batches)
        with autocast(device, precision):
            # the sum of the models' mean losses: each model's gradient is the one it would get alone
            loss = loss_fn(group(x.contiguous(memory_format=torch.channels_last)).flatten(0, 1), y) * len(runs)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if ((step + 1) % 50 == 0 or step + 1 == train_cfg.steps) and not math.isfinite(loss.item()):
            raise TrainingDivergedError(
                f"the training loss of {len(runs)} models trained together became {loss.item()} by step {step + 1}; "
                f"lower training.lr (now {train_cfg.lr}) or check the input data"
            )
    seconds = time.perf_counter() - started
    if pruner is not None:
        pruner.finalize()
    group.cpu().split(models)
    for model, (sparsity, seed) in zip(models, runs):
        model.to(device, memory_format=torch.channels_last)
        yield finish_model(model, settings, sparsity, seed, seconds, len(runs) * train_cfg.steps * train_cfg.batch_size)
