"""Robustness of a stored population (the paper's Section 3.3), as a stage: evaluate every model on the
corrupted and adversarial test sets and on a natural distribution-shift set where present, keeping its
per-example predictions beside its run; then turn them into tables (``robustness.tables``) cached in
the population's ``robustness/`` folder.

Each model's predictions are a finished folder (``folders``), so an interrupted evaluation resumes where
it stopped and a retrained model is evaluated again. The tables are read when fresh, else rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import MissingResultsError
from pruning_impact.foundations.executor import ExecutorOptions, Progress, raise_failures
from pruning_impact.foundations.options import RobustnessOptions
from pruning_impact.foundations.profiles import command_line
from pruning_impact.foundations.provenance import provenance
from pruning_impact.foundations.settings import Settings
from pruning_impact.foundations.top_k import class_index_dtype, top_k_classes
from pruning_impact.robustness import tables as tables_of
from pruning_impact.robustness.attacks import adversarial_batches
from pruning_impact.robustness.corruptions import CONSTANTS_VERSION
from pruning_impact.robustness.shifted_sets import (
    NATURAL_SET_NAMES,
    corrupted_sets,
    corruption_sources,
    load_natural_set,
    natural_set_dir,
    restricted_top1,
    subsample_indices,
)
from pruning_impact.training.compression import attack_model
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.images import images_to_input
from pruning_impact.training.inference import mixed_precision, predict_logits
from pruning_impact.training.models import inference_model
from pruning_impact.training.population import Executor, for_executor, load_model, open_executor, run_label
from pruning_impact.training.train import resolve_device

Run = tables_of.Run


def options_key(options: RobustnessOptions) -> str:
    """Ten hex digits naming an evaluation: its options and the version of the corruption constants."""
    text = json.dumps({**dataclasses.asdict(options), "constants": CONSTANTS_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def tables_folder(settings: Settings, results_dir: str | Path, options: RobustnessOptions) -> Path:
    """Where the robustness tables of these models and options live: named by the options and the evaluated
    runs, so that the tables of a smaller population never replace those of the whole one."""
    runs = evaluated_runs(settings, options)
    digest = hashlib.sha256(json.dumps(runs).encode()).hexdigest()[:8]
    key = f"{options_key(options)}-{len(runs)}-models-{digest}"
    return store.robustness_tables_dir(store.population_dir(results_dir, settings), key)


def evaluated_runs(settings: Settings, options: RobustnessOptions) -> list[Run]:
    """(sparsity, index) of the models evaluated: the dense floor pool (the reference and its partners, so
    that the robustness rule can be calibrated on dense-vs-dense splits) and every model of each sparse
    level, or ``options.models_per_level`` of each (of the reference and of its partners alike)."""
    pop, split = settings.population, settings.population.dense_split
    runs = []
    for sparsity in sorted(pop.levels):
        default = pop.floor_pool_size if sparsity == 0 else pop.size_at(sparsity)
        if sparsity == 0 and options.models_per_level and split.has_partners:
            # as many of the reference's partners as of the reference: they score the PIE flips, chose nothing
            chosen = min(options.models_per_level, split.k)
            runs += [(0.0, i) for i in (*range(chosen), *range(split.k, split.k + chosen))]
            continue
        runs += [(sparsity, i) for i in range(min(options.models_per_level or default, pop.size_at(sparsity)))]
    return runs


def _table_inputs(settings: Settings, results_dir: str | Path, options: RobustnessOptions) -> dict:
    """What the tables are made from: the options and the per-example predictions of every evaluated model
    (whose own inputs record where the corrupted images came from). Nothing here looks at the data folder,
    so a notebook running elsewhere agrees with the book's build on whether the tables are fresh."""
    pop_dir = store.population_dir(results_dir, settings)
    key, runs = options_key(options), evaluated_runs(settings, options)
    flips = flip_models(settings)
    return {
        "options": dataclasses.asdict(options),
        "key": key,
        "flip_models": [flips.start, flips.stop],
        "predictions": folders.fingerprint([store.robustness_dir(store.run_dir(pop_dir, *run), key) for run in runs]),
        "natural": folders.fingerprint([store.natural_dir(store.run_dir(pop_dir, *run), key) for run in runs]),
    }


def evaluate_population(
    settings: Settings,
    results_dir: str | Path,
    options: RobustnessOptions = RobustnessOptions(),
    progress: bool = True,
    executor: ExecutorOptions | Executor = ExecutorOptions(),
) -> dict[str, pd.DataFrame]:
    """Evaluate every model in ``evaluated_runs`` on the corrupted and adversarial test sets (where
    ``executor`` says; by default in ``population.auto_workers`` processes of this machine), and on the
    dataset's natural shifted set where the user has it (skipping finished work); return the tables."""
    store.require_trained(results_dir, settings)
    results_dir = Path(results_dir).resolve()
    pop_dir = store.population_dir(results_dir, settings)
    runs, key = evaluated_runs(settings, options), options_key(options)
    _evaluate_corruptions(settings, results_dir, options, runs, progress, executor)
    natural_name = _evaluate_natural_set(settings, results_dir, key, runs, progress)
    inputs = _table_inputs(settings, results_dir, options)

    sources = corruption_sources(settings.data, options)

    def compute() -> dict[str, pd.DataFrame]:
        return build_tables(pop_dir, options, runs, sources, natural_name, flip_models(settings))

    return folders.cached_tables(
        tables_folder(settings, results_dir, options),
        inputs,
        compute,
        record={"settings": settings.to_dict(), "sources": sources, "provenance": provenance()},
    )


def read_tables(
    settings: Settings, results_dir: str | Path, options: RobustnessOptions = RobustnessOptions()
) -> dict[str, pd.DataFrame]:
    """The stored robustness tables of exactly these models and options; when they are missing or stale,
    an error naming the command that makes them."""
    store.require_trained(results_dir, settings)
    folder = tables_folder(settings, results_dir, options)
    return folders.fresh_tables(
        folder,
        _table_inputs(settings, results_dir, options),
        f"robustness tables of {settings.name} for these options",
        command_line("robustness", settings, results_dir, options),
    )


def stored_tables(
    settings: Settings, results_dir: str | Path, options: RobustnessOptions = RobustnessOptions()
) -> dict[str, pd.DataFrame]:
    """The robustness tables of exactly these models and options, made from stored predictions only: read
    when fresh, built again when every evaluated model's predictions are stored (a smaller population, say);
    otherwise an error naming the command that evaluates the missing models. No model is evaluated here."""
    try:
        return read_tables(settings, results_dir, options)
    except MissingResultsError:
        runs = evaluated_runs(settings, options)
        if pending_runs(settings, results_dir, options, runs):
            raise
    pop_dir = store.population_dir(results_dir, settings)
    key = options_key(options)
    natural = all(folders.is_finished(store.natural_dir(store.run_dir(pop_dir, *run), key)) for run in runs)
    natural_name = NATURAL_SET_NAMES.get(settings.data.dataset) if natural else None
    sources = corruption_sources(settings.data, options)
    return folders.cached_tables(
        tables_folder(settings, results_dir, options),
        _table_inputs(settings, results_dir, options),
        lambda: build_tables(pop_dir, options, runs, sources, natural_name, flip_models(settings)),
        record={"settings": settings.to_dict(), "sources": sources, "provenance": provenance()},
    )


# ----------------------------------------------------------------------------- per-example predictions


def _predictions_finished(folder: Path, sources: dict) -> bool:
    """A model's predictions are finished when made from the present sources of the corrupted images; those
    written before sources were recorded are kept (re-evaluating them could cost hours of GPU time)."""
    manifest = folders.read_manifest(folder)
    legacy = manifest is not None and "inputs" not in manifest
    return folders.is_finished(folder, inputs=None if legacy else sources)


@lru_cache(maxsize=1)
def _evaluation_inputs(settings: Settings, results_dir: str, options: RobustnessOptions) -> dict:
    """What every model is evaluated on (read once per process): the subsample's clean and corrupted images
    (generated and cached on disk the first time) and the attacked images with their labels."""
    data = load_dataset(settings.data)
    indices, sets = corrupted_sets(data, settings.data, options, results_dir, progress=False)
    adv_indices = subsample_indices(len(data.test_labels), options.adversarial_subsample, options.seed + 1)
    return {
        "clean": data.test_images(indices),
        "sets": sets,
        "adv_inputs": images_to_input(data.name, data.test_images(adv_indices)),
        "adv_labels": torch.from_numpy(data.test_labels[adv_indices]),
    }


def _evaluate_run(job: tuple[Settings, str, RobustnessOptions, Run]) -> Run:
    """Write one model's predictions on the corrupted and adversarial sets (in a worker process, or here):
    inference with its batch norms folded, in the population's mixed precision (bfloat16 on a CPU that has
    it natively); the attacks' gradients in float32. The number type and threads are recorded beside them."""
    settings, results_dir, options, run = job
    pop_dir = store.population_dir(results_dir, settings)
    store.require_population_folder(pop_dir)
    folder = store.run_dir(pop_dir, *run)
    sources = {"sources": corruption_sources(settings.data, options)}
    if _predictions_finished(store.robustness_dir(folder, options_key(options)), sources):
        return run  # a task started again after its worker died may find them written
    inputs = _evaluation_inputs(settings, results_dir, options)
    data, device = load_dataset(settings.data), resolve_device(settings.training.device)
    model = inference_model(load_model(settings, folder, data, device))
    precision = mixed_precision(device, settings.training.amp)

    def top5(images: np.ndarray) -> np.ndarray:
        batch = settings.training.eval_batch_size
        logits = predict_logits(model, images_to_input(data.name, images), device, batch, precision)
        return top_k_classes(logits, 5)

    payloads = {store.CLEAN_TOP5_FILE: folders.npy_bytes(top5(inputs["clean"]))}
    for (name, severity), images in inputs["sets"].items():
        payloads[store.corrupted_top5_file(name, severity)] = folders.npy_bytes(top5(images))
    adv_inputs, adv_labels = inputs["adv_inputs"], inputs["adv_labels"]
    payloads[store.ADVERSARIAL_CLEAN_FILE] = folders.npy_bytes(
        top_k_classes(predict_logits(model, adv_inputs, device, precision=precision), 1)[:, 0]
    )
    # the attacks' gradients in float32, so that their strength does not depend on the machine's number type
    for attack in options.attacks:
        for epsilon in options.epsilons:
            adversarial = adversarial_batches(  # a quantized model's attacks follow its float model's gradients
                attack_model(model),
                adv_inputs,
                adv_labels,
                attack,
                epsilon,
                data.name,
                device,
                options.pgd_steps,
                options.seed,
            )
            top1 = top_k_classes(predict_logits(model, adversarial, device, precision=precision), 1)[:, 0]
            payloads[store.adversarial_top1_file(attack, epsilon)] = folders.npy_bytes(top1)
    record = {"precision": str(precision or torch.float32).removeprefix("torch."), "threads": torch.get_num_threads()}
    folders.write_finished(store.robustness_dir(folder, options_key(options)), payloads, inputs=sources, record=record)
    return run


def pending_runs(
    settings: Settings, results_dir: str | Path, options: RobustnessOptions, runs: list[Run] | None = None
) -> list[Run]:
    """The runs of ``evaluated_runs`` (or ``runs``) whose predictions on the corrupted and adversarial sets are
    not finished for the present sources of the corrupted images."""
    pop_dir = store.population_dir(results_dir, settings)
    key, sources = options_key(options), {"sources": corruption_sources(settings.data, options)}
    return [
        run
        for run in (evaluated_runs(settings, options) if runs is None else runs)
        if not _predictions_finished(store.robustness_dir(store.run_dir(pop_dir, *run), key), sources)
    ]


def _evaluate_corruptions(
    settings: Settings,
    results_dir: Path,
    options: RobustnessOptions,
    runs: list[Run],
    progress: bool,
    executor: ExecutorOptions | Executor,
) -> None:
    """Write each model's predictions on the corrupted and adversarial sets where they are not finished for
    the present sources of the corrupted images (generated, or a published set), where ``executor`` says."""
    todo = pending_runs(settings, results_dir, options, runs)
    if not todo:
        return
    # the corrupted sets are generated (and cached on disk) here once, before any worker reads them
    corrupted_sets(load_dataset(settings.data), settings.data, options, results_dir, progress)
    with open_executor(executor, settings) as runner:
        jobs = [(for_executor(settings, runner), str(results_dir), options, run) for run in todo]
        bar = Progress(
            total=len(runs), done=len(runs) - len(todo), desc=f"robustness ({runner.describe()})", disable=not progress
        )
        failed = []
        try:
            for outcome in runner.map(_evaluate_run, jobs, settings.resources, bar):
                bar.finished(outcome)
                if outcome.error is not None:
                    failed.append(outcome)
        finally:
            # the corrupted sets are large (ImageNet: gigabytes): freed here, and by Ray's workers when they end
            _evaluation_inputs.cache_clear()
            bar.close()
        retry = command_line("robustness", settings, results_dir, options, resources=True) + runner.flags()
    raise_failures(
        failed, lambda job: run_label(*job[3]), len(jobs), f"Run the same command again to retry them: {retry}"
    )


def _evaluate_natural_set(
    settings: Settings, results_dir: str | Path, key: str, runs: list[Run], progress: bool
) -> str | None:
    """Write each model's predictions on the natural distribution-shift set where the user has one;
    return the set's name (None when there is none)."""
    source = natural_set_dir(settings.data)
    if source is None:
        return None
    pop_dir = store.population_dir(results_dir, settings)
    todo = [run for run in runs if not folders.is_finished(store.natural_dir(store.run_dir(pop_dir, *run), key))]
    if not todo:
        return NATURAL_SET_NAMES[settings.data.dataset]
    data = load_dataset(settings.data)
    natural = load_natural_set(source, data)
    inputs = images_to_input(data.name, natural.images)
    device = resolve_device(settings.training.device)
    for run in tqdm(todo, desc=natural.name, unit="model", disable=not progress):
        folder = store.run_dir(pop_dir, *run)
        logits = predict_logits(inference_model(load_model(settings, folder, data, device)), inputs, device)
        payloads = {
            store.TOP5_FILE: folders.npy_bytes(top_k_classes(logits, 5)),
            store.LABELS_FILE: folders.npy_bytes(natural.labels),
        }
        if natural.classes is not None:
            payloads[store.RESTRICTED_TOP1_FILE] = folders.npy_bytes(
                restricted_top1(logits, natural.classes).astype(class_index_dtype(logits.shape[1]))
            )
        folders.write_finished(store.natural_dir(folder, key), payloads)
    return natural.name


# ----------------------------------------------------------------------------- tables


def _subsample_labels(pop_dir: Path, options: RobustnessOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = store.load_labels(pop_dir)
    indices = subsample_indices(len(labels), options.subsample, options.seed)
    adv_indices = subsample_indices(len(labels), options.adversarial_subsample, options.seed + 1)
    return indices, labels[indices], labels[adv_indices]


def flip_models(settings: Settings) -> range:
    """The dense models whose modal label's flips under corruption are set beside PIE_t: the reference's
    partners, which chose no PIE set (every evaluated dense model where there are no partners)."""
    split = settings.population.dense_split
    chosen = split.partners if split.has_partners else split.floor_pool
    return range(chosen.start, chosen.stop)


def build_tables(
    pop_dir: Path,
    options: RobustnessOptions,
    runs: list[Run],
    sources: dict[str, str],
    natural_name: str | None,
    flip_dense: range,
) -> dict[str, pd.DataFrame]:
    """Read every evaluated model's per-example predictions and turn them into the robustness tables; the
    flips of ``example_flips`` are those of the dense models ``flip_dense``."""
    key = options_key(options)
    indices, labels, adv_labels = _subsample_labels(pop_dir, options)
    clean, corrupted, adv_clean, attacked = {}, {}, {}, {}
    for run in runs:
        folder = store.robustness_dir(store.run_dir(pop_dir, *run), key)
        clean[run] = folders.load_npy(folder / store.CLEAN_TOP5_FILE)
        corrupted[run] = {
            (name, severity): folders.load_npy(folder / store.corrupted_top5_file(name, severity))
            for name in sources
            for severity in options.severities
        }
        adv_clean[run] = folders.load_npy(folder / store.ADVERSARIAL_CLEAN_FILE)
        attacked[run] = {
            (attack, epsilon): folders.load_npy(folder / store.adversarial_top1_file(attack, epsilon))
            for attack in options.attacks
            for epsilon in options.epsilons
        }
    dense = [run for run in runs if run[0] == 0 and run[1] in flip_dense]
    flips = (
        tables_of.example_flips(
            [clean[run][:, 0] for run in dense],
            {pair: [corrupted[run][pair][:, 0] for run in dense] for pair in corrupted[dense[0]]},
            indices,
            labels,
        )
        if dense
        else pd.DataFrame(columns=["index", "label", "dense_flip_rate"])
    )
    natural_top5, natural_labels, restricted = {}, {}, {}
    if natural_name is not None:
        for run in runs:
            folder = store.natural_dir(store.run_dir(pop_dir, *run), key)
            natural_top5[run] = folders.load_npy(folder / store.TOP5_FILE)
            natural_labels[run] = folders.load_npy(folder / store.LABELS_FILE)
            path = folder / store.RESTRICTED_TOP1_FILE
            restricted[run] = folders.load_npy(path) if path.is_file() else None
    return {
        "corruption_accuracy": tables_of.corruption_table(clean, corrupted, labels, sources),
        "adversarial_accuracy": tables_of.adversarial_table(adv_clean, attacked, adv_labels),
        "example_flips": flips,
        "natural_accuracy": tables_of.natural_table(natural_name, natural_top5, natural_labels, restricted),
    }
