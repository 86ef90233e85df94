"""The results store: the layout of a results folder, the one place that names its files and folders, and
the readers and writers of runs and populations (through ``folders``' atomic writes and ``DONE`` files).

Layout of a results folder::

    <results>/<profile>-<settings hash>/
        population.json        resolved settings, class names, test-set size
        labels.npy             test labels [N] in the fixed test order
        sparsity-0.90/model-03/
            model.pt  predictions.npy  top5.npy  top5_prob.npy  logits.npy  metrics.json  run.json  DONE
            checkpoint-<step>.pt        dense models, when training.checkpoints asks for them
            robustness-<key>/           per-example predictions on corrupted and adversarial test sets, DONE
            robustness-<key>-natural/   per-example predictions on a natural distribution-shift set, DONE
        bits-08/model-03/      a quantized level (quantize-int8): predictions of dense model i quantized, no model.pt
        analysis/<key>/        tables of one analysis (key: population sizes and options), DONE
        annotation/            sheet-<id>.html (for annotators), key-<id>.csv, example-answers-<id>-<annotator>.csv
        methods/<key>/         tables comparing compression methods at one K, DONE
        robustness/<key>/      tables of one robustness evaluation, DONE
        lessons/               chapters executed on the classroom population, as in a lesson
        timings.json  notebook-timings.json   how long the book's stages and chapters took
    <results>/calibration/<key>/   error rates of the verdict rules on simulated populations, DONE
    <results>/corrupted/<dataset>-n<size>-sample<seed>/<corruption>-s<severity>-seed<seed>-v<version>.npy

A run that is not finished (``folders.is_finished``) is trained again; tables that are not fresh are
computed again (``folders.cached_tables``). The book's own files are named in ``book.paths``, and the
published datasets' files, as their authors lay them out, beside their loaders (``training.datasets``,
``robustness.shifted_sets``).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np

from pruning_impact.foundations.errors import MissingResultsError, NodeError
from pruning_impact.foundations.folders import (
    is_finished,
    json_bytes,
    load_npy,
    npy_bytes,
    read_manifest,
    save_json,
    save_npy,
    write_finished,
)
from pruning_impact.foundations.levels import format_level, format_sparsity
from pruning_impact.foundations.profiles import command_line, get_profile
from pruning_impact.foundations.settings import Settings
from pruning_impact.foundations.top_k import top_k_classes

DEFAULT_RESULTS = "results"  # the results folder, relative to where a command runs, when none is given
POPULATION_FILE = "population.json"
LABELS_FILE = "labels.npy"
MODEL_FILE = "model.pt"
PREDICTIONS_FILE = "predictions.npy"
TOP5_FILE = "top5.npy"
TOP5_PROB_FILE = "top5_prob.npy"
LOGITS_FILE = "logits.npy"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
ANALYSIS_DIR = "analysis"
ANNOTATION_DIR = "annotation"  # in a population's folder: annotation sheets, their keys and example answers
METHODS_DIR = "methods"  # in the paper's method's population: tables comparing compression methods
ROBUSTNESS_DIR = "robustness"
CORRUPTED_DIR = "corrupted"
CALIBRATION_DIR = "calibration"
TIMINGS_FILE = "timings.json"  # in a population's folder: how long each stage of each book build took
NOTEBOOK_TIMINGS_FILE = "notebook-timings.json"  # in a population's folder: the latest execution of each notebook
LESSONS_DIR = "lessons"  # in the classroom population's folder: the chapters executed as in a lesson
MAX_CLASSES_FOR_LOGITS = 100

# per-example predictions of one model in robustness-<key>/ (top-5 classes [n, 5] or top-1 [n])
CLEAN_TOP5_FILE = "clean.npy"
ADVERSARIAL_CLEAN_FILE = "adv-clean.npy"
RESTRICTED_TOP1_FILE = "restricted_top1.npy"


# ----------------------------------------------------------------------------- paths of results


def population_dir(results_dir: str | Path, settings: Settings) -> Path:
    return Path(results_dir) / settings.name


def sparsity_dir(pop_dir: Path, sparsity: float) -> Path:
    """The folder of a level's runs: ``sparsity-0.90``, or ``bits-08`` for a quantized level (a bit width)."""
    if sparsity >= 1:
        return pop_dir / f"bits-{int(sparsity):02d}"
    return pop_dir / f"sparsity-{format_sparsity(sparsity)}"


def run_dir(pop_dir: Path, sparsity: float, index: int) -> Path:
    return sparsity_dir(pop_dir, sparsity) / f"model-{index:02d}"


def analysis_dir(pop_dir: Path, key: str) -> Path:
    """Tables of one analysis (its options and population sizes are in ``key``)."""
    return pop_dir / ANALYSIS_DIR / key


def robustness_dir(run: Path, key: str) -> Path:
    """Per-example predictions of one model on corrupted and adversarial test sets (one evaluation key)."""
    return run / f"robustness-{key}"


def natural_dir(run: Path, key: str) -> Path:
    """Per-example predictions of one model on the dataset's natural distribution-shift set."""
    return run / f"robustness-{key}-natural"


def methods_dir(pop_dir: Path, key: str) -> Path:
    """Tables comparing compression methods against this population's dense models (one comparison key)."""
    return pop_dir / METHODS_DIR / key


def annotation_dir(pop_dir: Path) -> Path:
    """Annotation sheets of a population (``sheet-<id>.html``), their keys and the book's example answers."""
    return pop_dir / ANNOTATION_DIR


def sheet_file(folder: Path, sheet_id: str) -> Path:
    """The annotation sheet an annotator opens (no PIE label in it)."""
    return folder / f"sheet-{sheet_id}.html"


def key_file(folder: Path, sheet_id: str) -> Path:
    """The key of an annotation sheet: which of its images are PIEs (kept from the annotators)."""
    return folder / f"key-{sheet_id}.csv"


def example_answers_file(folder: Path, sheet_id: str, annotator: str) -> Path:
    """The book's machine answers to a sheet, one file per machine annotator (not human data)."""
    return folder / f"example-answers-{sheet_id}-{annotator}.csv"


def robustness_tables_dir(pop_dir: Path, key: str) -> Path:
    return pop_dir / ROBUSTNESS_DIR / key


def calibration_dir(results_dir: str | Path, key: str) -> Path:
    """Error rates of the verdict rules on simulated populations (not tied to any trained population)."""
    return Path(results_dir) / CALIBRATION_DIR / key


def corrupted_top5_file(corruption: str, severity: int) -> str:
    return f"{corruption}-s{severity}.npy"


def adversarial_top1_file(attack: str, epsilon: float) -> str:
    return f"adv-{attack}-{epsilon:g}.npy"


def corrupted_set_path(
    results_dir: str | Path, dataset_key: str, name: str, severity: int, seed: int, version: int
) -> Path:
    """A cached corrupted test set: dataset and subsample in the folder; corruption, severity, seed and the
    constants' version in the file name."""
    return Path(results_dir) / CORRUPTED_DIR / dataset_key / f"{name}-s{severity}-seed{seed}-v{version}.npy"


# ----------------------------------------------------------------------------- runs


def prediction_arrays(logits: np.ndarray) -> dict[str, np.ndarray]:
    """The per-example arrays a run keeps: top-1, top-5 with float16 softmax, and logits if C <= 100."""
    num_classes = logits.shape[1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    top5 = top_k_classes(logits, 5)
    arrays = {
        PREDICTIONS_FILE: top5[:, 0],
        TOP5_FILE: top5,
        TOP5_PROB_FILE: np.take_along_axis(probs, top5.astype(np.int64), axis=1).astype(np.float16),
    }
    if num_classes <= MAX_CLASSES_FOR_LOGITS:
        arrays[LOGITS_FILE] = logits.astype(np.float32)
    return arrays


def write_run(
    directory: Path,
    model_state: bytes | None,
    logits: np.ndarray,
    metrics: dict,
    run_info: dict,
    checkpoints: dict[int, bytes] | None = None,
    inputs: Any = None,
) -> None:
    """Write a finished run's files (no model file for a quantized run: it is made again from its dense
    source, recorded as its ``inputs``), its ``checkpoints`` (step -> state) if any, then ``DONE`` with their
    checksums."""
    payloads = {METRICS_FILE: json_bytes(metrics), RUN_FILE: json_bytes(run_info)}
    if model_state is not None:
        payloads[MODEL_FILE] = model_state
    payloads.update({checkpoint_name(step): state for step, state in (checkpoints or {}).items()})
    payloads.update({name: npy_bytes(array) for name, array in prediction_arrays(logits).items()})
    write_finished(directory, payloads, inputs)


def checkpoint_name(step: int) -> str:
    return f"checkpoint-{step:06d}.pt"


def checkpoint_files(directory: Path) -> list[Path]:
    """A run's checkpoints listed in its ``DONE``, in training order."""
    manifest = read_manifest(directory) or {"sha256": {}}
    return sorted(directory / name for name in manifest["sha256"] if name.startswith("checkpoint-"))


def load_run_metrics(directory: Path) -> dict:
    return json.loads((directory / METRICS_FILE).read_text())


def load_run_array(directory: Path, name: str = PREDICTIONS_FILE) -> np.ndarray:
    return load_npy(directory / name)


def model_file(directory: Path) -> Path:
    return directory / MODEL_FILE


# ----------------------------------------------------------------------------- populations


def require_population_folder(pop_dir: Path) -> None:
    """Refuse to work in a population folder that this machine does not see: a cluster node without the
    shared results folder would otherwise write a population of its own."""
    if not (pop_dir / POPULATION_FILE).is_file():
        raise NodeError(
            f"{socket.gethostname()} does not see the population folder {pop_dir}: share the results folder "
            "(e.g. on NFS) at the same path on every node"
        )


def write_population_info(pop_dir: Path, settings: Settings, class_names: tuple[str, ...], labels: np.ndarray) -> None:
    info = {
        "settings": settings.to_dict(),
        "settings_hash": settings.hash,
        "class_names": list(class_names),
        "num_test": int(len(labels)),
    }
    save_json(pop_dir / POPULATION_FILE, info)
    save_npy(pop_dir / LABELS_FILE, labels.astype(np.int64))


def append_timings(pop_dir: Path, record: dict) -> None:
    """Add one build's stage timings to the population's record (earlier builds are kept)."""
    save_json(pop_dir / TIMINGS_FILE, [*read_timings(pop_dir), record])


def read_timings(pop_dir: Path) -> list[dict]:
    """Every recorded build's stage timings, oldest first (none when missing or damaged)."""
    try:
        records = json.loads((pop_dir / TIMINGS_FILE).read_text())
    except (OSError, ValueError):
        return []
    return records if isinstance(records, list) else []


def record_notebook_time(pop_dir: Path, notebook: str, seconds: float, machine: dict) -> None:
    """Record how long the latest execution of a notebook on this population took, and where."""
    record = {**read_notebook_times(pop_dir), notebook: {"seconds": seconds, "machine": machine}}
    save_json(pop_dir / NOTEBOOK_TIMINGS_FILE, record)


def read_notebook_times(pop_dir: Path) -> dict[str, dict]:
    """Each notebook's latest execution time on this population (none when missing or damaged)."""
    try:
        record = json.loads((pop_dir / NOTEBOOK_TIMINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def notebook_seconds(pop_dir: Path, notebook: str) -> float:
    """How long the latest execution of a notebook on this population took (NaN when not recorded)."""
    return float(read_notebook_times(pop_dir).get(notebook, {}).get("seconds", float("nan")))


def trained_counts(pop_dir: Path, settings: Settings) -> dict[float, tuple[int, int]]:
    """Per sparsity of ``settings``: (models finished in ``pop_dir``, models the population has there)."""
    return {
        level: (len(finished_indices(pop_dir, level)), settings.population.size_at(level))
        for level in settings.population.levels
    }


def read_population_info(pop_dir: Path) -> dict:
    return json.loads((pop_dir / POPULATION_FILE).read_text())


def load_labels(pop_dir: Path) -> np.ndarray:
    return load_npy(pop_dir / LABELS_FILE)


def finished_indices(pop_dir: Path, sparsity: float, verify: bool = False) -> list[int]:
    """Model indices at this sparsity whose runs are finished."""
    folder = sparsity_dir(pop_dir, sparsity)
    if not folder.is_dir():
        return []
    indices = []
    for child in sorted(folder.glob("model-*")):
        if child.is_dir() and child.name[6:].isdigit() and is_finished(child, verify=verify):
            indices.append(int(child.name[6:]))
    return indices


def _resolve(profile_or_settings: str | Settings) -> Settings:
    return profile_or_settings if isinstance(profile_or_settings, Settings) else get_profile(profile_or_settings)


def require_trained(
    results_dir: str | Path, settings: Settings, sparsity: float | None = None, population_size: int | None = None
) -> list[int]:
    """The finished model indices at ``sparsity`` (at every level when None), as many as the population
    has there (or ``population_size``); a missing model raises an error naming the command that trains it."""
    pop_dir = population_dir(results_dir, settings)
    done = []
    for level in settings.population.levels if sparsity is None else (sparsity,):
        wanted = population_size or settings.population.size_at(level)
        done = finished_indices(pop_dir, level)[:wanted]
        if len(done) < wanted or not (pop_dir / LABELS_FILE).is_file():
            raise MissingResultsError(
                f"{len(done)} of {wanted} models are trained at {'sparsity ' * (level < 1)}{format_level(level)} for profile "
                f"{settings.profile} in {pop_dir}. Train them with: {command_line('train', settings, results_dir)}"
            )
    return done


def load_population_arrays(
    results_dir: str | Path,
    profile: str | Settings,
    sparsity: float,
    name: str = PREDICTIONS_FILE,
    population_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One per-example array of every model at a sparsity, stacked [K, ...], and the test labels [N]."""
    settings = _resolve(profile)
    pop_dir = population_dir(results_dir, settings)
    done = require_trained(results_dir, settings, sparsity, population_size)
    arrays = np.stack([load_run_array(run_dir(pop_dir, sparsity, i), name) for i in done])
    return arrays, load_labels(pop_dir)


def load_predictions(
    results_dir: str | Path, profile: str | Settings, sparsity: float, population_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 predictions [K, N] (int64) of the models at ``sparsity``, aligned with the test labels [N].

    K is the profile's population size at that sparsity unless ``population_size`` is given.
    """
    predictions, labels = load_population_arrays(results_dir, profile, sparsity, PREDICTIONS_FILE, population_size)
    return predictions.astype(np.int64), labels


def fully_trained(results_dir: Path, settings: Settings) -> bool:
    """Whether every model of the population is trained."""
    counts = trained_counts(population_dir(results_dir, settings), settings)
    return all(done >= wanted for done, wanted in counts.values())


def lesson_notebook(pop_dir: Path, name: str) -> Path:
    """Where the book's build executes a chapter on the classroom population, as students do in a lesson."""
    return pop_dir / LESSONS_DIR / f"{name}.ipynb"
