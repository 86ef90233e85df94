"""The results store: the only module that knows file and folder names.

Layout of a population (its folder is named by profile and settings hash)::

    <results>/<profile>-<hash>/
        population.json        resolved settings, class names, test-set size
        labels.npy             test labels [N] in the fixed test order
        sparsity-0.90/model-03/
            model.pt  predictions.npy  top5.npy  top5_prob.npy  logits.npy  metrics.json  run.json  DONE
        analysis/<key>/        tables of one analysis (key: population sizes and options)

Every file is written to a temporary name and renamed into place. ``DONE`` is written last and
holds the SHA-256 of the run's other files: a run without it, or whose files no longer match it,
is not finished and is trained again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MissingResultsError
from .settings import Settings

POPULATION_FILE = "population.json"
LABELS_FILE = "labels.npy"
DONE_FILE = "DONE"
MODEL_FILE = "model.pt"
PREDICTIONS_FILE = "predictions.npy"
TOP5_FILE = "top5.npy"
TOP5_PROB_FILE = "top5_prob.npy"
LOGITS_FILE = "logits.npy"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
ANALYSIS_DIR = "analysis"
MAX_CLASSES_FOR_LOGITS = 100


def format_sparsity(sparsity: float) -> str:
    """0.9 -> '0.90'; more digits only when they matter (0.975 -> '0.975')."""
    text = f"{sparsity:.2f}"
    return text if abs(float(text) - sparsity) < 1e-12 else f"{sparsity:.6g}"


def population_dir(results_dir: str | Path, settings: Settings) -> Path:
    return Path(results_dir) / settings.name


def sparsity_dir(pop_dir: Path, sparsity: float) -> Path:
    return pop_dir / f"sparsity-{format_sparsity(sparsity)}"


def run_dir(pop_dir: Path, sparsity: float, index: int) -> Path:
    return sparsity_dir(pop_dir, sparsity) / f"model-{index:02d}"


def analysis_dir(pop_dir: Path, key: str) -> Path:
    """Tables of one analysis (its options and population sizes are in ``key``)."""
    return pop_dir / ANALYSIS_DIR / key


# ----------------------------------------------------------------------------- atomic writes

def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def save_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def save_npy(path: Path, array: np.ndarray) -> None:
    atomic_write_bytes(path, npy_bytes(array))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- runs

def prediction_arrays(logits: np.ndarray) -> dict[str, np.ndarray]:
    """The per-example arrays a run keeps: top-1, top-5 with float16 softmax, and logits if C <= 100."""
    num_classes = logits.shape[1]
    index_dtype = np.int16 if num_classes < 2**15 else np.int32
    k = min(5, num_classes)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    arrays = {
        PREDICTIONS_FILE: top5[:, 0].astype(index_dtype),
        TOP5_FILE: top5.astype(index_dtype),
        TOP5_PROB_FILE: np.take_along_axis(probs, top5, axis=1).astype(np.float16),
    }
    if num_classes <= MAX_CLASSES_FOR_LOGITS:
        arrays[LOGITS_FILE] = logits.astype(np.float32)
    return arrays


def write_finished(directory: Path, payloads: dict[str, bytes]) -> None:
    """Write files atomically, then ``DONE`` with their checksums: the folder is finished only then."""
    for name, payload in payloads.items():
        atomic_write_bytes(directory / name, payload)
    checksums = {name: hashlib.sha256(payload).hexdigest() for name, payload in payloads.items()}
    save_json(directory / DONE_FILE, {"sha256": checksums})


def write_run(directory: Path, model_state: bytes, logits: np.ndarray, metrics: dict, run_info: dict) -> None:
    """Write a finished run's files, then ``DONE`` with their checksums."""
    payloads = {MODEL_FILE: model_state, METRICS_FILE: json_bytes(metrics), RUN_FILE: json_bytes(run_info)}
    payloads.update({name: npy_bytes(array) for name, array in prediction_arrays(logits).items()})
    write_finished(directory, payloads)


def robustness_dir(run: Path, key: str) -> Path:
    """Per-example predictions of one model on corrupted and adversarial test sets (one evaluation key)."""
    return run / f"robustness-{key}"


def robustness_tables_dir(pop_dir: Path, key: str) -> Path:
    return pop_dir / "robustness" / key


def corrupted_set_path(results_dir: str | Path, dataset_key: str, name: str, severity: int, seed: int,
                       version: int) -> Path:
    """A cached corrupted test set: dataset and subsample in the folder; corruption, severity, seed and the
    constants' version in the file name."""
    return Path(results_dir) / "corrupted" / dataset_key / f"{name}-s{severity}-seed{seed}-v{version}.npy"


def run_is_done(directory: Path, verify: bool = True) -> bool:
    """True if ``DONE`` exists and (when ``verify``) every file it lists still has its checksum."""
    try:
        checksums = json.loads((directory / DONE_FILE).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for name, expected in checksums.items():
        path = directory / name
        if not path.is_file() or (verify and sha256(path) != expected):
            return False
    return True


def clear_run(directory: Path) -> None:
    """Remove what an unfinished or damaged run left behind."""
    if directory.exists():
        shutil.rmtree(directory)


def load_run_metrics(directory: Path) -> dict:
    return json.loads((directory / METRICS_FILE).read_text())


def load_run_array(directory: Path, name: str = PREDICTIONS_FILE) -> np.ndarray:
    return np.load(directory / name, allow_pickle=False)


# ----------------------------------------------------------------------------- populations

def write_population_info(pop_dir: Path, settings: Settings, class_names: tuple[str, ...], labels: np.ndarray) -> None:
    info = {"settings": settings.to_dict(), "settings_hash": settings.hash, "class_names": list(class_names),
            "num_test": int(len(labels))}
    save_json(pop_dir / POPULATION_FILE, info)
    save_npy(pop_dir / LABELS_FILE, labels.astype(np.int64))


def read_population_info(pop_dir: Path) -> dict:
    return json.loads((pop_dir / POPULATION_FILE).read_text())


def finished_indices(pop_dir: Path, sparsity: float, verify: bool = False) -> list[int]:
    """Model indices at this sparsity whose runs are finished."""
    folder = sparsity_dir(pop_dir, sparsity)
    if not folder.is_dir():
        return []
    indices = []
    for child in sorted(folder.glob("model-*")):
        if child.is_dir() and child.name[6:].isdigit() and run_is_done(child, verify=verify):
            indices.append(int(child.name[6:]))
    return indices


def population_fingerprint(pop_dir: Path, runs: list[tuple[float, int]]) -> str:
    """A digest of the DONE files of these runs: it changes when any of them is retrained."""
    digest = hashlib.sha256()
    for sparsity, index in runs:
        path = run_dir(pop_dir, sparsity, index) / DONE_FILE
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()[:16]


def train_command(settings: Settings, results_dir: str | Path, sparsities: list[float] | None = None) -> str:
    parts = ["pruning-impact train", f"--profile {settings.profile}", f"--results {results_dir}"]
    if sparsities:
        parts.append("--sparsities " + " ".join(format_sparsity(s) for s in sparsities))
    return " ".join(parts)


def _resolve(profile_or_settings: str | Settings) -> Settings:
    if isinstance(profile_or_settings, Settings):
        return profile_or_settings
    from .profiles import get_profile
    return get_profile(profile_or_settings)


def load_population_arrays(results_dir: str | Path, profile: str | Settings, sparsity: float,
                           name: str = PREDICTIONS_FILE, population_size: int | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """One per-example array of every model at a sparsity, stacked [K, ...], and the test labels [N]."""
    settings = _resolve(profile)
    pop_dir = population_dir(results_dir, settings)
    wanted = population_size or settings.population.size_at(sparsity)
    done = finished_indices(pop_dir, sparsity)[:wanted]
    if len(done) < wanted or not (pop_dir / LABELS_FILE).is_file():
        raise MissingResultsError(
            f"{len(done)} of {wanted} models are trained at sparsity {format_sparsity(sparsity)} for profile "
            f"{settings.profile} in {pop_dir}. Train them with: {train_command(settings, results_dir, [sparsity])}")
    labels = np.load(pop_dir / LABELS_FILE, allow_pickle=False)
    arrays = np.stack([load_run_array(run_dir(pop_dir, sparsity, i), name) for i in done])
    return arrays, labels


def load_predictions(results_dir: str | Path, profile: str | Settings, sparsity: float,
                     population_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 predictions [K, N] (int64) of the models at ``sparsity``, aligned with the test labels [N].

    K is the profile's population size at that sparsity unless ``population_size`` is given.
    """
    predictions, labels = load_population_arrays(results_dir, profile, sparsity, PREDICTIONS_FILE, population_size)
    return predictions.astype(np.int64), labels
