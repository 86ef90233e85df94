"""Variance of gradients (VoG; Agarwal et al., "Estimating Example Difficulty using Variance of Gradients"):
how much the gradient of an image's true-class logit with respect to its pixels changes over training.

For each model, the gradient map of every test image is computed at each of its saved checkpoints
(``training.checkpoints``) and averaged over colour channels; VoG is the per-pixel standard deviation over
the checkpoints, averaged over the pixels; it is then averaged over the models and, as the authors rank images, standardised within each true
class. A dense model's checkpoints are all it needs: no sparse population.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pruning_impact.foundations import store
from pruning_impact.foundations.errors import MissingResultsError
from pruning_impact.foundations.settings import Settings
from pruning_impact.training.images import ImageData
from pruning_impact.training.models import build_model


def checkpoint_models(settings: Settings, run: Path, data: ImageData, device: torch.device) -> list[torch.nn.Module]:
    """The saved checkpoints of a run, as eval-mode models (an error naming the option when there are fewer
    than two)."""
    files = store.checkpoint_files(run)
    if len(files) < 2:
        raise MissingResultsError(
            f"{run} keeps {len(files)} checkpoint(s); VoG needs at least 2: train the dense models with "
            "training.checkpoints >= 2 (a profile that keeps them, e.g. the default)"
        )
    models = []
    for file in files:
        model = build_model(settings.model, data.image_shape, data.num_classes)
        model.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
        models.append(model.to(device).eval())
    return models


def model_vog(models: list[torch.nn.Module], data: ImageData, batch_size: int, device: torch.device) -> np.ndarray:
    """VoG of every test image under one model's checkpoints ``models`` (before class standardisation), [N]."""
    out = []
    for x, y in data.test_batches(batch_size, device):
        gradients = []
        for model in models:
            x_grad = x.detach().clone().requires_grad_(True)
            logits = model(x_grad)
            (grad,) = torch.autograd.grad(logits.gather(1, y[:, None]).sum(), x_grad)
            gradients.append(grad.detach())
        stacked = torch.stack(gradients).mean(dim=2)  # [checkpoints, B, H, W]: colour channels averaged, as the authors
        out.append(stacked.std(dim=0, unbiased=False).flatten(1).mean(dim=1).cpu().numpy())
    return np.concatenate(out)


def class_standardised(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``scores`` as z-scores within each true class (a class with one image, or no spread, gets 0)."""
    out = np.zeros(len(scores))
    for c in np.unique(labels):
        members = labels == c
        spread = scores[members].std()
        out[members] = (scores[members] - scores[members].mean()) / spread if spread > 0 else 0.0
    return out


def vog_scores(
    settings: Settings, runs: list[Path], data: ImageData, device: torch.device, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """VoG of every test image, averaged over the models of ``runs``: (raw [N], class-standardised [N])."""
    total = np.zeros(len(data.test_labels))
    for run in tqdm(runs, desc="variance of gradients", unit="model", disable=not progress):
        total += model_vog(
            checkpoint_models(settings, run, data, device), data, settings.training.eval_batch_size, device
        )
    raw = total / len(runs)
    return raw, class_standardised(raw, data.test_labels)
