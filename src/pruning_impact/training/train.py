"""Train one model from its settings, a final sparsity and a seed; predict the test set in its fixed order."""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from pruning_impact.foundations.errors import SettingsError, TrainingDivergedError
from pruning_impact.foundations.settings import PruningSettings, Settings, TrainSettings
from pruning_impact.foundations.top_k import top_k_classes
from pruning_impact.training.compression import scope_of
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.inference import autocast, mixed_precision, predict_logits
from pruning_impact.training.models import build_model
from pruning_impact.training.pruning import PolynomialDecay, Pruner, layer_sparsities, sparsity_problems


def lr_at(step: int, settings: TrainSettings) -> float:
    """Learning rate at an optimizer step.

    onecycle: linear rise from lr/25 over the first quarter, then cosine decay to zero.
    step: linear warm-up over ``warmup_steps``, then lr * gamma^(milestones passed).
    """
    total = settings.steps
    if settings.lr_schedule == "onecycle":
        rise = max(int(0.25 * total), 1)
        if step < rise:
            return settings.lr * (1 / 25 + (1 - 1 / 25) * step / rise)
        progress = (step - rise) / max(total - rise, 1)
        return settings.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    if step < settings.warmup_steps:
        return settings.lr * (step + 1) / settings.warmup_steps
    passed = sum(step >= m * total for m in settings.lr_milestones)
    return settings.lr * settings.lr_gamma**passed


def pruning_schedule(settings: PruningSettings, final_sparsity: float) -> PolynomialDecay:
    if settings.initial_sparsity > final_sparsity:
        raise SettingsError(
            f"invalid setting pruning.initial_sparsity: {settings.initial_sparsity} exceeds the "
            f"final sparsity {final_sparsity}"
        )
    return PolynomialDecay(
        settings.initial_sparsity,
        final_sparsity,
        settings.begin_step,
        settings.end_step,
        settings.frequency,
        settings.power,
    )


def build_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.SGD:
    """SGD with Nesterov momentum over the model's parameters (build it after any pruning parametrization).

    With ``bn_weight_decay`` false, the weights and biases of batch-norm layers form a second parameter
    group without weight decay, as the authors' ``model_utils.py`` leaves variables named
    ``batch_normalization`` out of its L2 term; every other parameter keeps ``weight_decay``.
    """
    options = dict(momentum=settings.momentum, nesterov=settings.momentum > 0)
    if settings.bn_weight_decay:
        return torch.optim.SGD(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, **options)
    norm_ids = {
        id(p)
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for p in m.parameters(recurse=False)
    }
    decayed = [p for p in model.parameters() if id(p) not in norm_ids]
    undecayed = [p for p in model.parameters() if id(p) in norm_ids]
    groups = [
        {"params": decayed, "weight_decay": settings.weight_decay},
        {"params": undecayed, "weight_decay": 0.0},
    ]
    return torch.optim.SGD([g for g in groups if g["params"]], lr=settings.lr, **options)


def resolve_device(name: str) -> torch.device:
    """The device ``training.device`` names; on CUDA, cuDNN may pick the fastest convolution algorithms for
    the (fixed) input sizes."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SettingsError(
            "invalid setting training.device: 'cuda' was asked for but no CUDA device is available; "
            "use --device cpu or auto"
        )
    if name == "cuda":
        torch.backends.cudnn.benchmark = True
    return torch.device(name)


def training_precision(settings: Settings) -> str:
    """The number type this machine trains ``settings``' models in: float32, bfloat16 or float16."""
    dtype = mixed_precision(resolve_device(settings.training.device), settings.training.amp)
    return str(dtype or torch.float32).removeprefix("torch.")


@dataclass
class TrainedModel:
    """A finished model (pruned weights are exact zeros), its test-set logits [N, C], metrics, and the states
    saved during training (step -> ``torch.save`` bytes; dense models, when ``training.checkpoints`` asks)."""

    model: nn.Module
    logits: np.ndarray
    metrics: dict
    checkpoints: dict[int, bytes] = field(default_factory=dict)


def checkpoint_steps(settings: TrainSettings) -> list[int]:
    """The steps after which a dense model's state is kept: ``checkpoints`` evenly spaced, the last one at
    the end of training."""
    count = settings.checkpoints
    return sorted({round(settings.steps * j / count) for j in range(1, count + 1)}) if count else []


def state_bytes(model: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


class TrainingMonitor:
    """The progress bar of one model's training: the mean loss and accuracy of the last ``every`` steps, and
    a stop with a clear message when the loss is no longer finite (a diverged run)."""

    def __init__(
        self, settings: TrainSettings, device: torch.device, description: str, progress: bool, every: int = 20
    ):
        self.steps, self.lr, self.every = settings.steps, settings.lr, every
        self.loss_sum, self.correct = torch.zeros((), device=device), torch.zeros((), device=device)
        self.seen = 0
        self.bar = tqdm(
            total=settings.steps, desc=description, leave=False, disable=not progress, unit="step", dynamic_ncols=True
        )

    def record(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        """Add one step's loss and correct predictions (on the device: no synchronisation)."""
        self.loss_sum += loss.detach().float()
        self.correct += (logits.detach().argmax(1) == y).sum()
        self.seen += len(y)

    def report(self, step: int, sparsity: float, what: str) -> None:
        """After step ``step``: every ``every`` steps and at the end, check the loss and show the means."""
        if step % self.every and step != self.steps:
            return
        mean_loss = self.loss_sum.item() / max(step % self.every or self.every, 1)
        if not math.isfinite(mean_loss):
            self.bar.close()
            raise TrainingDivergedError(
                f"the training loss became {mean_loss} by step {step} ({what}); "
                f"lower training.lr (now {self.lr}) or check the input data"
            )
        self.bar.set_postfix(
            loss=f"{mean_loss:.3f}",
            acc=f"{self.correct.item() / max(self.seen, 1):.3f}",
            sparsity=f"{sparsity:.2f}",
            refresh=False,
        )
        self.loss_sum.zero_(), self.correct.zero_()
        self.seen = 0
        self.bar.update(step - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def train_model(
    settings: Settings, sparsity: float, seed: int, progress: bool = True, description: str = ""
) -> TrainedModel:
    """Train one model to ``sparsity`` with gradual magnitude pruning; deterministic on CPU for a seed."""
    train_cfg, prune_cfg = settings.training, settings.pruning
    device = resolve_device(train_cfg.device)
    data = load_dataset(settings.data)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    # channels-last convolutions: about 1.6x the images/s of the default layout on this CPU
    model = build_model(settings.model, data.image_shape, data.num_classes).to(
        device, memory_format=torch.channels_last
    )
    pruner = None
    if sparsity > 0:
        pruner = Pruner(
            model,
            pruning_schedule(prune_cfg, sparsity),
            settings.population.method,
            prune_cfg.update,
            prune_cfg.prune_final_layer,
            seed,
        )
    optimizer = build_optimizer(model, train_cfg)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=train_cfg.label_smoothing)
    precision = mixed_precision(device, train_cfg.amp)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == torch.float16)

    keep_at = set(checkpoint_steps(train_cfg)) if sparsity == 0 else set()
    checkpoints = {}
    monitor = TrainingMonitor(train_cfg, device, description or f"sparsity {sparsity:.2f}", progress)
    started = time.perf_counter()
    step, current_sparsity = 0, 0.0
    model.train()
    while step < train_cfg.steps:
        for x, y in data.train_batches(train_cfg.batch_size, generator, device):
            if step >= train_cfg.steps:
                break
            if pruner is not None:
                current_sparsity = pruner.step(step)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, train_cfg)
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                logits = model(x)
                loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            monitor.record(loss, logits, y)
            step += 1
            if step in keep_at:
                checkpoints[step] = state_bytes(model)
            monitor.report(step, current_sparsity, f"sparsity {sparsity}, seed {seed}")
    monitor.close()
    seconds = time.perf_counter() - started
    if pruner is not None:
        pruner.finalize()
    trained = finish_model(model, settings, sparsity, seed, seconds, train_cfg.steps * train_cfg.batch_size)
    trained.checkpoints = checkpoints
    return trained


def finish_model(
    model: nn.Module, settings: Settings, sparsity: float, seed: int, seconds: float, images: int
) -> TrainedModel:
    """A trained model (pruned weights already exact zeros) checked against its sparsity, its test-set
    logits in float32 and its metrics; ``seconds`` and ``images`` are those of its training."""
    train_cfg, prune_cfg = settings.training, settings.pruning
    device = next(model.parameters()).device
    problems = sparsity_problems(model, sparsity, scope_of(settings.population.method), prune_cfg.prune_final_layer)
    if problems:
        raise RuntimeError(f"pruning to {sparsity} failed: {'; '.join(problems)}")  # a bug, not a user error
    data = load_dataset(settings.data)
    logits = predict_logits(model, (x for x, _ in data.test_batches(train_cfg.eval_batch_size, device)), device)
    labels = data.test_labels
    top5 = top_k_classes(logits, 5)
    metrics = {
        "sparsity": sparsity,
        "seed": seed,
        "top1": float((top5[:, 0] == labels).mean()),
        "top5": float((top5 == labels[:, None]).any(axis=1).mean()),
        "train_seconds": seconds,
        "images_per_second": images / seconds,
        "device": str(device),
        "precision": training_precision(settings),
        "threads": torch.get_num_threads(),
        "layer_sparsity": layer_sparsities(model, prune_cfg.prune_final_layer) if sparsity > 0 else {},
    }
    return TrainedModel(model.cpu(), logits, metrics)
