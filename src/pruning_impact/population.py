"""Train a population: K models per sparsity, each skipped when its finished run is already stored;
load a stored model back, checked against the sparsity it was trained to."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import store
from .data import ImageData, load_dataset
from .errors import DamagedResultsError
from .executor import ExecutorOptions, LocalExecutor, Progress, RayExecutor, cpu_count, raise_failures
from .models import build_model
from .profiles import command_line
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


Executor = LocalExecutor | RayExecutor


def executor_for(options: ExecutorOptions, settings: Settings) -> Executor:
    """The executor ``options`` name; the local one with ``auto_workers`` processes unless told how many."""
    if options.kind == "ray":
        return RayExecutor(options.ray_address)
    return LocalExecutor(auto_workers(settings) if options.workers is None else options.workers)


@contextmanager
def open_executor(executor: ExecutorOptions | Executor, settings: Settings) -> Iterator[Executor]:
    """The executor to run a stage with: the one ``executor`` names, closed after the stage, or ``executor``
    itself when it is already open (a caller running several stages on one cluster closes it)."""
    if not isinstance(executor, ExecutorOptions):
        yield executor
        return
    runner = executor_for(executor, settings)
    try:
        yield runner
    finally:
        runner.close()


def for_executor(settings: Settings, executor: Executor) -> Settings:
    """Settings as the executor's workers need them. On a cluster: the data folder as an absolute path (a
    task's working folder is its node's, not the driver's), and the CPU for tasks that ask for no GPU (Ray
    leaves a node's GPUs visible to them, and ``auto`` would pick one another task was given)."""
    if executor.kind == "local":
        return settings
    device = settings.training.device
    if device == "auto" and not settings.resources.gpus_per_task:
        device = "cpu"
    return settings.replace(data={"data_dir": str(Path(settings.data.data_dir).resolve())}, training={"device": device})


def run_label(sparsity: float, index: int) -> str:
    """How messages name a run: ``t=0.50 model 3``."""
    return f"t={store.format_sparsity(sparsity)} model {index}"


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
    process, a Ray task, or here): one at a time, or ``training.models_per_step`` together; return their
    metrics. A run found finished is not trained again (a task started again after its worker died may find
    its runs already stored)."""
    settings, pop_dir, runs, progress = job
    store.require_population_folder(pop_dir)
    todo = [run for run in runs if not store.is_finished(store.run_dir(pop_dir, *run))]
    for sparsity, index in todo:
        store.clear(store.run_dir(pop_dir, sparsity, index))
    seeds = [(sparsity, model_seed(settings, sparsity, index)) for sparsity, index in todo]
    if len(todo) == 1:
        (sparsity, seed), (_, index) = seeds[0], todo[0]
        trained = [train_model(settings, sparsity, seed, progress=progress, description=run_label(sparsity, index))]
    else:
        trained = train_group(settings, seeds, progress=progress) if todo else []
    metrics = {run: _store(settings, pop_dir, run[1], model) for run, model in zip(todo, trained)}
    return [metrics.get(run) or store.load_run_metrics(store.run_dir(pop_dir, *run)) for run in runs]


def train_population(
    settings: Settings,
    results_dir: str | Path,
    progress: bool = True,
    executor: ExecutorOptions | Executor = ExecutorOptions(),
) -> PopulationReport:
    """Train every missing or damaged model of the population where ``executor`` says (by default, in
    ``auto_workers`` processes of this machine); finished runs are kept as they are, and each model is stored
    as soon as it is trained. Runs that fail on every attempt (on a cluster) are reported together at the
    end, in a ``JobsFailedError``, after the others have finished."""
    pop_dir = store.check_writable(store.population_dir(Path(results_dir).resolve(), settings), "results")
    with open_executor(executor, settings) as runner:
        shipped = for_executor(settings, runner)
        data = load_dataset(shipped.data)
        store.write_population_info(pop_dir, settings, data.class_names, data.test_labels)
        runs = planned_runs(settings)
        todo = [(s, i) for s, i in runs if not store.is_finished(store.run_dir(pop_dir, s, i))]
        started = time.perf_counter()
        # one bar per model only when models train one at a time here: parallel workers' bars would collide
        serial = runner.kind == "local" and runner.workers <= 1
        together = settings.training.models_per_step
        jobs = [
            (shipped, pop_dir, todo[start : start + together], progress and serial)
            for start in range(0, len(todo), together)
        ]
        bar = Progress(
            total=len(runs),
            done=len(runs) - len(todo),
            desc=f"population {settings.profile} ({runner.describe()})",
            size=lambda job: len(job[2]),
            disable=not progress,
        )
        failed = []
        try:
            for outcome in runner.map(_train_and_store, jobs, settings.resources, bar):
                if outcome.error is None:
                    bar.finished(outcome, last_top1=f"{outcome.value[-1]['top1']:.4f}")
                else:
                    bar.finished(outcome)
                    failed.append(outcome)
        finally:
            bar.close()
        retry = command_line("train", settings, results_dir, resources=True) + runner.flags()
    raise_failures(
        failed,
        lambda job: ", ".join(run_label(*run) for run in job[2]),
        len(jobs),
        f"Run the same command again to retry them: {retry}",
    )
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
