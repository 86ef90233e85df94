"""Train a population: K models per sparsity, each skipped when its finished run is already stored;
load a stored model back, checked against the sparsity it was trained to."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import DamagedResultsError, SettingsError
from pruning_impact.foundations.executor import ExecutorOptions, LocalExecutor, Progress, raise_failures
from pruning_impact.foundations.levels import format_level, format_sparsity
from pruning_impact.foundations.machine import cpu_count
from pruning_impact.foundations.profiles import command_line
from pruning_impact.foundations.provenance import provenance
from pruning_impact.foundations.ray_executor import RayExecutor
from pruning_impact.foundations.settings import DEFAULT_METHOD, Settings
from pruning_impact.foundations.top_k import top_k_classes, top_k_correct
from pruning_impact.training.compression import CALIBRATION_BATCHES, attack_model, quantize, scope_of
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.grouped import train_group
from pruning_impact.training.images import ImageData
from pruning_impact.training.inference import predict_logits
from pruning_impact.training.models import build_model
from pruning_impact.training.pruning import layer_sparsities, sparsity_problems
from pruning_impact.training.train import TrainedModel, checkpoint_steps, resolve_device, state_bytes, train_model


def model_seed(settings: Settings, sparsity: float, index: int) -> int:
    """A seed derived from the base seed, the sparsity and the model index (stable across machines); a
    compressed model of another method than the paper's has the method in it too, so that it shares neither
    initial weights nor data order with the paper's model of the same index (dense models are the same for
    every method)."""
    method = settings.population.method
    tag = f"{method}/" if sparsity > 0 and method != DEFAULT_METHOD else ""
    key = f"{settings.population.seed}/{tag}{format_sparsity(sparsity)}/{index}"
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def planned_runs(settings: Settings) -> list[tuple[float, int]]:
    """(level, model index) of every model, index-major, so an interrupted population stays balanced."""
    pop = settings.population
    largest = max(pop.size_at(s) for s in pop.levels)
    return [(s, i) for i in range(largest) for s in pop.levels if i < pop.size_at(s)]


def base_settings(settings: Settings) -> Settings:
    """The population of the paper's method with the same recipe: its dense models are this population's
    (same seeds), so a population of another method copies them rather than training them again."""
    return settings.replace(population={"method": DEFAULT_METHOD})


def quantized_source(settings: Settings, index: int) -> int:
    """The dense model that quantized model ``index`` is made from: one of the reference's partners (models
    K..2K-1; a quantization method's settings require them), so that the quantized level is as independent of
    the reference as a pruned level is."""
    return settings.population.dense_split.partners.start + index


def run_finished(settings: Settings, sparsity: float, index: int, pop_dir: Path) -> bool:
    """Run ``index`` at ``sparsity`` in ``pop_dir`` is finished, was trained from the seed this population gives
    it (a run left by settings that seeded it otherwise is trained again), and a dense one keeps the
    checkpoints ``training.checkpoints`` asks for."""
    run = store.run_dir(pop_dir, sparsity, index)
    if not folders.is_finished(run):
        return False
    if store.load_run_metrics(run).get("seed") != model_seed(settings, sparsity, index):
        return False
    wanted = len(checkpoint_steps(settings.training)) if sparsity == 0 else 0
    return len(store.checkpoint_files(run)) >= wanted


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
    """How messages name a run: ``t=0.50 model 3``, ``8-bit model 3``."""
    return f"{'t=' * (sparsity < 1)}{format_level(sparsity)} model {index}"


def _store(settings: Settings, pop_dir: Path, index: int, trained: TrainedModel) -> dict:
    """Write a trained model as the finished run ``index`` of its sparsity; return its metrics."""
    sparsity, seed = trained.metrics["sparsity"], trained.metrics["seed"]
    run_info = {
        "settings": settings.to_dict(),
        "settings_hash": settings.hash,
        "sparsity": sparsity,
        "index": index,
        "seed": seed,
        "provenance": provenance(trained.metrics["device"]),
    }
    store.write_run(
        store.run_dir(pop_dir, sparsity, index),
        state_bytes(trained.model),
        trained.logits,
        trained.metrics,
        run_info,
        trained.checkpoints,
    )
    return trained.metrics


def _train_and_store(job: tuple[Settings, Path, list[tuple[float, int]], bool]) -> list[dict]:
    """Train the runs (sparsity, index) of a job and store each as soon as it is finished (in a worker
    process, a Ray task, or here): one at a time, or ``training.models_per_step`` together; return their
    metrics. A run found finished is not trained again (a task started again after its worker died may find
    its runs already stored)."""
    settings, pop_dir, runs, progress = job
    store.require_population_folder(pop_dir)
    todo = [run for run in runs if not run_finished(settings, *run, pop_dir)]
    for sparsity, index in todo:
        folders.clear(store.run_dir(pop_dir, sparsity, index))
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
    pop_dir = folders.check_writable(store.population_dir(Path(results_dir).resolve(), settings), "results")
    with open_executor(executor, settings) as runner:
        shipped = for_executor(settings, runner)
        data = load_dataset(shipped.data)
        store.write_population_info(pop_dir, settings, data.class_names, data.test_labels)
        started = time.perf_counter()
        _copy_dense_runs(settings, results_dir, pop_dir)
        runs = [(s, i) for s, i in planned_runs(settings) if s < 1]  # quantized levels are made after training
        todo = [(s, i) for s, i in runs if not run_finished(settings, s, i, pop_dir)]
        # one bar per model only when models train one at a time here: parallel workers' bars would collide
        serial = runner.kind == "local" and runner.workers <= 1
        together = settings.training.models_per_step
        # dense models that keep checkpoints train alone (a group keeps none); the others in groups
        alone = [run for run in todo if run[0] == 0 and together > 1 and checkpoint_steps(settings.training)]
        grouped = [run for run in todo if run not in alone]
        batches = [[run] for run in alone] + [
            grouped[start : start + together] for start in range(0, len(grouped), together)
        ]
        jobs = [(shipped, pop_dir, batch, progress and serial) for batch in batches]
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
    quantized = _quantize_population(settings, pop_dir, progress)
    made = len(todo) + quantized  # copied dense runs count as kept: they were trained for the paper's population
    planned = len(planned_runs(settings))
    return PopulationReport(pop_dir, made, planned - made, time.perf_counter() - started)


def _copy_dense_runs(settings: Settings, results_dir: str | Path, pop_dir: Path) -> None:
    """Copy the finished dense runs of the paper's method's population (``base_settings``) that this
    population of another method lacks or holds in another version (the source was trained again)."""
    if settings.population.method == DEFAULT_METHOD:
        return
    base_dir = store.population_dir(Path(results_dir).resolve(), base_settings(settings))
    for index in range(settings.population.size_at(0.0)):
        source, target = store.run_dir(base_dir, 0.0, index), store.run_dir(pop_dir, 0.0, index)
        if not run_finished(settings, 0.0, index, base_dir):
            continue
        if folders.read_manifest(target) == folders.read_manifest(source) and folders.is_finished(target):
            continue
        folders.copy_run(source, target)


def _quantize_population(settings: Settings, pop_dir: Path, progress: bool) -> int:
    """Make every missing quantized run of a quantization method's population from its dense source model, here
    on the CPU (seconds per model); return how many were made."""
    bits = settings.population.quantization_bits
    if bits is None:
        return 0
    level = float(bits)

    def source_of(index: int) -> dict:  # what a quantized run is made from: its source run, as it is now
        return {"source": folders.fingerprint([store.run_dir(pop_dir, 0.0, quantized_source(settings, index))])}

    todo = [
        i
        for i in range(settings.population.size_at(level))
        if not folders.is_finished(store.run_dir(pop_dir, level, i), inputs=source_of(i))
    ]
    data = load_dataset(settings.data)
    for index in tqdm(todo, desc=f"quantizing to {bits} bits", unit="model", disable=not progress or not todo):
        started = time.perf_counter()
        source_index = quantized_source(settings, index)
        source_run = store.run_dir(pop_dir, 0.0, source_index)
        model = quantized_model(settings, source_run, data)
        logits = predict_logits(model, (x for x, _ in data.test_batches(settings.training.eval_batch_size, CPU)), CPU)
        source_top1 = store.load_run_array(source_run)
        top5 = top_k_classes(logits, 5)
        metrics = {
            "sparsity": level,
            "bits": bits,
            "source_index": source_index,
            "seed": store.load_run_metrics(source_run)["seed"],
            "top1": float(top_k_correct(top5[None, :, :1], data.test_labels).mean()),
            "top5": float(top_k_correct(top5[None], data.test_labels).mean()),
            "agreement_with_source": float((top5[:, 0] == source_top1).mean()),
            "quantize_seconds": time.perf_counter() - started,
            "device": "cpu",
        }
        run_info = {
            "settings": settings.to_dict(),
            "settings_hash": settings.hash,
            "sparsity": level,
            "index": index,
            "source": str(source_run.relative_to(pop_dir)),
            "provenance": provenance("cpu"),
        }
        store.write_run(store.run_dir(pop_dir, level, index), None, logits, metrics, run_info, inputs=source_of(index))
    return len(todo)


CPU = torch.device("cpu")


def quantized_model(settings: Settings, source_run: Path, data: ImageData) -> nn.Module:
    """Dense model ``source_run`` quantized by its population's method, on the CPU; int8 calibrates on the first
    training batches of the source model's own seed, so the same model comes out every time."""
    bits = settings.population.quantization_bits
    model = load_model(settings, source_run, data, CPU)
    seed = store.load_run_metrics(source_run)["seed"]
    batches = data.train_batches(settings.training.batch_size, torch.Generator().manual_seed(seed), CPU)
    calibration = [x for (x, _), _ in zip(batches, range(CALIBRATION_BATCHES))] if bits == 8 else []
    return quantize(model, bits, calibration)


def population_status(settings: Settings, results_dir: str | Path) -> list[dict]:
    """Per sparsity: models expected, finished, and their mean top-1 so far."""
    pop_dir = store.population_dir(results_dir, settings)
    rows = []
    for sparsity in settings.population.levels:
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
    sparsity, and the per-layer sparsities recorded when it was trained. A quantized run's model is its dense
    source quantized again (the same every time), on the CPU."""
    metrics = store.load_run_metrics(run)
    if "bits" in metrics:
        if device.type != "cpu" and metrics["bits"] == 8:
            raise SettingsError("int8 models run on the CPU only: evaluate this population with --device cpu")
        pop_dir = run.parent.parent
        model = quantized_model(settings, store.run_dir(pop_dir, 0.0, metrics["source_index"]), data).to(device)
        object.__setattr__(model, "attack_model", attack_model(model).to(device))  # a plain attribute: moved here
        return model
    model = build_model(settings.model, data.image_shape, data.num_classes)
    model.load_state_dict(torch.load(store.model_file(run), map_location="cpu", weights_only=True))
    prune = settings.pruning
    problems = sparsity_problems(
        model, metrics["sparsity"], scope_of(settings.population.method), prune.prune_final_layer
    )
    recorded = metrics.get("layer_sparsity") or {}
    if recorded and recorded != layer_sparsities(model, prune.prune_final_layer):
        problems.append(f"per-layer sparsities differ from those recorded at training ({recorded})")
    if problems:
        raise DamagedResultsError(
            f"the model in {run} is not pruned as its run says: {'; '.join(problems)}. "
            "Delete that folder and train again"
        )
    return model.to(device, memory_format=torch.channels_last).eval()
