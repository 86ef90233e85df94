"""Train a population: K models per sparsity, each skipped when its finished run is already stored;
load a stored model back, checked against the sparsity it was trained to."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import store
from .data import ImageData, load_dataset
from .errors import DamagedResultsError
from .executor import cpu_count, run_jobs
from .models import build_model
from .provenance import provenance
from .pruning import layer_sparsities, sparsity_problems
from .settings import Settings
from .train import TrainedModel, resolve_device, train_model
from .vectorized import train_group


def model_seed(settings: Settings, sparsity: float, index: int) -> int:
    """A seed derived from the base seed, the sparsity and the model index (stable across machines)."""
    key = f"{settings.population.seed}/{store.format_sparsity(sparsity)}/{index}"
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def planned_runs(settings: Settings) -> list[tuple[float, int]]:
    """(sparsity, model index) of every model, index-major, so an interrupted population stays balanced."""
    pop = settings.population
    largest = max(pop.size_at(s) for s in pop.sparsities)
    return [(s, i) for i in range(largest) for s in pop.sparsities if i < pop.size_at(s)]


@dataclass
class PopulationReport:
    directory: Path
    trained: int
    skipped: int
    seconds: float


def auto_workers(settings: Settings) -> int:
    """Worker processes for a population's jobs: one per core for the small CNN on a CPU (one model each,
    single-threaded: ``executor``); one otherwise: on a GPU, for a folder dataset (its loader has its own
    worker processes) and for the large models, which use every core well and need gigabytes each."""
    on_cpu = resolve_device(settings.training.device).type == "cpu"
    if on_cpu and settings.model.arch == "small-cnn" and settings.data.dataset != "imagenet":
        return cpu_count()
    return 1


def _store(settings: Settings, pop_dir: Path, index: int, trained: TrainedModel) -> dict:
    """Write a trained model as the finished run ``index`` of its sparsity; return its metrics."""
    sparsity, seed = trained.metrics["sparsity"], trained.metrics["seed"]
    buffer = io.BytesIO()
    torch.save(trained.model.state_dict(), buffer)
    run_info = {
        "settings": settings.to_dict(),
        "settings_hash": settings.hash,
        "sparsity": sparsity,
        "index": index,
        "seed": seed,
        "provenance": provenance(trained.metrics["device"]),
    }
    store.write_run(
        store.run_dir(pop_dir, sparsity, index), buffer.getvalue(), trained.logits, trained.metrics, run_info
    )
    return trained.metrics


def _train_and_store(job: tuple[Settings, Path, list[tuple[float, int]], bool]) -> list[dict]:
    """Train the runs (sparsity, index) of a job and store each as soon as it is finished (in a worker
    process, or here): one at a time, or ``training.models_per_step`` together; return their metrics."""
    settings, pop_dir, runs, progress = job
    for sparsity, index in runs:
        store.clear(store.run_dir(pop_dir, sparsity, index))
    seeds = [(sparsity, model_seed(settings, sparsity, index)) for sparsity, index in runs]
    if len(runs) == 1:
        (sparsity, seed), (_, index) = seeds[0], runs[0]
        description = f"t={store.format_sparsity(sparsity)} model {index}"
        trained = [train_model(settings, sparsity, seed, progress=progress, description=description)]
    else:
        trained = train_group(settings, seeds, progress=progress)
    return [_store(settings, pop_dir, index, model) for (_, index), model in zip(runs, trained)]


def train_population(
    settings: Settings, results_dir: str | Path, progress: bool = True, workers: int | None = None
) -> PopulationReport:
    """Train every missing or damaged model of the population in ``workers`` processes (None: ``auto_workers``);
    finished runs are kept as they are, and each model is stored as soon as it is trained."""
    pop_dir = store.check_writable(store.population_dir(results_dir, settings), "results")
    data = load_dataset(settings.data)
    store.write_population_info(pop_dir, settings, data.class_names, data.test_labels)
    runs = planned_runs(settings)
    todo = [(s, i) for s, i in runs if not store.is_finished(store.run_dir(pop_dir, s, i))]
    workers = auto_workers(settings) if workers is None else workers
    started = time.perf_counter()
    bar = tqdm(
        total=len(runs),
        initial=len(runs) - len(todo),
        desc=f"population {settings.profile}" + (f" ({workers} workers)" if workers > 1 else ""),
        unit="model",
        disable=not progress,
        dynamic_ncols=True,
    )
    # one bar per model only when models train one at a time: parallel workers' bars would collide
    together = settings.training.models_per_step
    jobs = [
        (settings, pop_dir, todo[start : start + together], progress and workers <= 1)
        for start in range(0, len(todo), together)
    ]
    for _, finished in run_jobs(_train_and_store, jobs, workers):
        bar.update(len(finished))
        bar.set_postfix(last_top1=f"{finished[-1]['top1']:.4f}", refresh=True)
    bar.close()
    return PopulationReport(pop_dir, len(todo), len(runs) - len(todo), time.perf_counter() - started)


def population_status(settings: Settings, results_dir: str | Path) -> list[dict]:
    """Per sparsity: models expected, finished, and their mean top-1 so far."""
    pop_dir = store.population_dir(results_dir, settings)
    rows = []
    for sparsity in settings.population.sparsities:
        expected = settings.population.size_at(sparsity)
        done = store.finished_indices(pop_dir, sparsity)
        top1 = [store.load_run_metrics(store.run_dir(pop_dir, sparsity, i))["top1"] for i in done]
        rows.append(
            {
                "sparsity": sparsity,
                "expected": expected,
                "finished": len(done),
                "missing": max(expected - len(done), 0),
                "mean_top1": float(np.mean(top1)) if top1 else None,
            }
        )
    return rows


def load_model(settings: Settings, run: Path, data: ImageData, device: torch.device) -> nn.Module:
    """A stored model in eval mode on ``device``, checked to be pruned as its run says: every layer to its
    sparsity, and the per-layer sparsities recorded when it was trained."""
    metrics = store.load_run_metrics(run)
    model = build_model(settings.model, data.image_shape, data.num_classes)
    model.load_state_dict(torch.load(store.model_file(run), map_location="cpu", weights_only=True))
    prune = settings.pruning
    problems = sparsity_problems(model, metrics["sparsity"], prune.scope, prune.prune_final_layer)
    recorded = metrics.get("layer_sparsity") or {}
    if recorded and recorded != layer_sparsities(model, prune.prune_final_layer):
        problems.append(f"per-layer sparsities differ from those recorded at training ({recorded})")
    if problems:
        raise DamagedResultsError(
            f"the model in {run} is not pruned as its run says: {'; '.join(problems)}. "
            "Delete that folder and train again"
        )
    return model.to(device, memory_format=torch.channels_last).eval()
