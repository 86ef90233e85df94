"""The results store: the one module that knows file and folder names, and how files are written.

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
    <results>/corrupted/<dataset>-n<size>-sample<seed>/<corruption>-s<severity>-seed<seed>-v<version>.npy

Every file is written to a temporary name and renamed into place. A folder is *finished* when its
``DONE`` file, written last, lists the SHA-256 of its other files and they still match; a folder of
derived results also records in ``DONE`` the inputs it was made from, and is *fresh* only while those
inputs are unchanged. A run that is not finished is trained again; tables that are not fresh are
computed again (``cached_tables``). The names of the book's files, and of the published datasets'
files as their authors lay them out, live here too.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import MissingResultsError, NodeError, StoreError
from .settings import Settings
from .stats import top_k_classes

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
ANNOTATION_DIR = "annotation"  # in a population's folder: annotation sheets, their keys and example answers
METHODS_DIR = "methods"  # in the paper's method's population: tables comparing compression methods
ROBUSTNESS_DIR = "robustness"
CORRUPTED_DIR = "corrupted"
CALIBRATION_DIR = "calibration"
TIMINGS_FILE = "timings.json"  # in a population's folder: how long each stage of each book build took
NOTEBOOK_TIMINGS_FILE = "notebook-timings.json"  # in a population's folder: the latest execution of each notebook
TABLE_SUFFIX = ".csv"
MAX_CLASSES_FOR_LOGITS = 100

# per-example predictions of one model in robustness-<key>/ (top-5 classes [n, 5] or top-1 [n])
CLEAN_TOP5_FILE = "clean.npy"
ADVERSARIAL_CLEAN_FILE = "adv-clean.npy"
RESTRICTED_TOP1_FILE = "restricted_top1.npy"


def format_percent(sparsity: float) -> str:
    """A sparsity as the paper writes it: 0.9 -> '90%', 0.975 -> '97.5%'; a quantized level (a bit width) as
    '8-bit'."""
    return format_level(sparsity) if sparsity >= 1 else f"{100 * sparsity:.4g}%"


def format_level(level: float) -> str:
    """A level in messages: a sparsity as ``format_sparsity`` writes it, a bit width as '8-bit'."""
    return f"{int(level)}-bit" if level >= 1 else format_sparsity(level)


def format_sparsity(sparsity: float) -> str:
    """0.9 -> '0.90'; more digits only when they matter (0.975 -> '0.975')."""
    text = f"{sparsity:.2f}"
    return text if abs(float(text) - sparsity) < 1e-12 else f"{sparsity:.6g}"


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


def table_file(name: str) -> str:
    return name + TABLE_SUFFIX


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


# ----------------------------------------------------------------------------- writing


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over ``path``."""
    # host and process in the name: nodes sharing the folder over NFS may have the same process ids
    tmp = path.with_name(f".{path.name}.tmp-{socket.gethostname()}-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, error: OSError) -> StoreError:
    return StoreError(
        f"cannot write {path}: {error.strerror or error}. Choose a folder you can write to (e.g. --results DIR)"
    )


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


def load_npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and make sure files can be written in it, before long work starts."""
    folder = Path(folder)
    probe = folder / f".write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StoreError(
            f"cannot write the {what} to {folder}: {exc.strerror or exc}. Choose a folder you can write to"
        ) from None
    return folder


# ----------------------------------------------------------------------------- finished folders


def _canonical(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists), for comparing recorded inputs."""
    return json.loads(json.dumps(obj, sort_keys=True))


def write_finished(directory: Path, payloads: dict[str, bytes], inputs: Any = None, record: Any = None) -> None:
    """Write files atomically, then ``DONE`` with their checksums, the ``inputs`` they were made from and
    a free-form ``record`` (settings, provenance): the folder is finished only then."""
    try:
        (directory / DONE_FILE).unlink(missing_ok=True)  # an interrupted rewrite must not look finished
    except OSError as exc:
        raise _cannot_write(directory / DONE_FILE, exc) from None
    for name, payload in payloads.items():
        atomic_write_bytes(directory / name, payload)
    manifest = {"sha256": {name: hashlib.sha256(payload).hexdigest() for name, payload in payloads.items()}}
    if inputs is not None:
        manifest["inputs"] = inputs
    if record is not None:
        manifest["record"] = record
    save_json(directory / DONE_FILE, manifest)


def read_manifest(directory: Path) -> dict | None:
    """The contents of a folder's ``DONE`` file, or None when it is missing or damaged."""
    try:
        manifest = json.loads((directory / DONE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("sha256"), dict) else None


def is_finished(directory: Path, verify: bool = True, inputs: Any = None) -> bool:
    """True if ``DONE`` exists, (when ``verify``) every file it lists still has its checksum, and (when
    ``inputs`` is given) it records exactly these inputs."""
    manifest = read_manifest(directory)
    if manifest is None:
        return False
    if inputs is not None and manifest.get("inputs") != _canonical(inputs):
        return False
    for name, expected in manifest["sha256"].items():
        path = directory / name
        if not path.is_file() or (verify and sha256(path) != expected):
            return False
    return True


def copy_run(source: Path, target: Path) -> None:
    """Copy a finished run to another population's folder: its files first (hard links where the file system
    allows: files are only ever replaced, never changed in place), its ``DONE`` last."""
    clear(target)
    target.mkdir(parents=True)
    manifest = read_manifest(source)
    for name in manifest["sha256"]:
        try:
            os.link(source / name, target / name)
        except OSError:
            atomic_write_bytes(target / name, (source / name).read_bytes())
    save_json(target / DONE_FILE, manifest)


def clear(directory: Path) -> None:
    """Remove what an unfinished or damaged folder left behind."""
    if directory.exists():
        shutil.rmtree(directory)


def fingerprint(directories: list[Path]) -> str:
    """A digest of these folders' ``DONE`` files: it changes when any of them is rewritten or missing."""
    digest = hashlib.sha256()
    for directory in directories:
        path = directory / DONE_FILE
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()[:16]


def read_tables(directory: Path, inputs: Any) -> dict[str, pd.DataFrame] | None:
    """The tables stored in ``directory`` if they are finished and were made from ``inputs``, else None."""
    if not is_finished(directory, inputs=inputs):
        return None
    names = [name for name in read_manifest(directory)["sha256"] if name.endswith(TABLE_SUFFIX)]
    return {name[: -len(TABLE_SUFFIX)]: pd.read_csv(directory / name) for name in names}


def fresh_tables(directory: Path, inputs: Any, what: str, command: str) -> dict[str, pd.DataFrame]:
    """The tables in ``directory`` made from ``inputs``; when they are missing or stale, an error saying
    which ``command`` makes them (readers never compute)."""
    tables = read_tables(directory, inputs)
    if tables is None:
        raise MissingResultsError(
            f"the {what} are not computed yet (or a model changed since); make them with: {command}"
        )
    return tables


def cached_tables(
    directory: Path, inputs: Any, compute: Callable[[], dict[str, pd.DataFrame]], record: Any = None
) -> dict[str, pd.DataFrame]:
    """Read if fresh, else compute and write: the one cache rule of derived tables.

    The tables in ``directory`` are returned when they are finished and were made from ``inputs``;
    otherwise ``compute()`` makes them, they are written as CSV with a ``DONE`` recording ``inputs``
    and ``record``, and returned as read back, so a cached and a fresh result look the same.
    """
    tables = read_tables(directory, inputs)
    if tables is not None:
        return tables
    computed = compute()
    write_finished(
        directory,
        {table_file(name): table.to_csv(index=False).encode() for name, table in computed.items()},
        inputs,
        record,
    )
    return read_tables(directory, inputs)


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


def load_run_info(directory: Path) -> dict:
    return json.loads((directory / RUN_FILE).read_text())


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
    if isinstance(profile_or_settings, Settings):
        return profile_or_settings
    from .profiles import get_profile

    return get_profile(profile_or_settings)


def require_trained(
    results_dir: str | Path, settings: Settings, sparsity: float | None = None, population_size: int | None = None
) -> list[int]:
    """The finished model indices at ``sparsity`` (at every level when None), as many as the population
    has there (or ``population_size``); a missing model raises an error naming the command that trains it."""
    from .profiles import command_line

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


# ----------------------------------------------------------------------------- the book

NOTEBOOKS_DIR = "notebooks"
LESSONS_DIR = "lessons"  # in the classroom population's folder: the chapters executed as in a lesson
BOOK_DIR = "book"
FIGURES_DIR = "figures"
EXEMPLARS_DIR = "_static/exemplars"  # beside the book's static files (html_static_path): the exemplar browser's
BOOK_CONFIG_FILES = ("_config.yml", "_toc.yml")
BOOK_SOURCE_SUFFIXES = (".md", ".bib")
BOOK_INCLUDED_FILES = (  # repository files the book shows (literalinclude) or loads (its style sheet)
    "scripts/ray-slurm.sbatch",
    "book/_static/book.css",
)
NOTEBOOK_PATTERN = "[0-9][0-9]_*.py"


def notebook_sources(root: Path) -> list[Path]:
    """The book's notebooks (jupytext sources), in chapter order."""
    return sorted((root / NOTEBOOKS_DIR).glob(NOTEBOOK_PATTERN))


def executed_notebook(book_root: Path, source: Path) -> Path:
    return book_root / BOOK_DIR / f"{source.stem}.ipynb"


def staged_notebook(output: Path) -> Path:
    """Where a notebook is converted before papermill executes it into ``output``."""
    return output.with_name(f".{output.stem}.input.ipynb")


def lesson_notebook(pop_dir: Path, name: str) -> Path:
    """Where the runner executes a chapter on the classroom population, as students do in a lesson."""
    return pop_dir / LESSONS_DIR / f"{name}.ipynb"


def notebook_stamp(output: Path) -> Path:
    """What an executed notebook was made from (source, parameters, inputs), beside it."""
    return output.with_name(f"{output.stem}.stamp.json")


def figure_file(figures_dir: Path, name: str) -> Path:
    return figures_dir / f"{name}.png"


def html_index(book_root: Path) -> Path:
    return book_root / "_build" / "html" / "index.html"


# ----------------------------------------------------------------------------- datasets (their publishers' layouts)

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
FASHION_MNIST_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
IMAGENET_SPLITS = ("train", "val")
CIFAR10_C_DIR, IMAGENET_C_DIR = "CIFAR-10-C", "imagenet-c"  # published corrupted test sets, in the data folder
CIFAR10_1_DIR, IMAGENET_A_DIR = "CIFAR-10.1", "imagenet-a"  # published natural distribution-shift sets


def torchvision_fashion_mnist_dir(data_dir: Path) -> Path:
    """Where torchvision's download puts Fashion-MNIST's IDX files."""
    return data_dir / "FashionMNIST" / "raw"


def fashion_mnist_folders(data_dir: Path) -> list[Path]:
    """Where Fashion-MNIST's IDX files are looked for, in order."""
    return [data_dir / "fashion-mnist", torchvision_fashion_mnist_dir(data_dir), data_dir, SYSTEM_FASHION_MNIST]


def cifar10_c_files(root: Path, corruption: str) -> tuple[Path, Path]:
    """CIFAR-10-C: the five severities of a corruption in one array, and their labels."""
    return root / f"{corruption}.npy", root / "labels.npy"


def cifar10_1_files(root: Path, version: str) -> tuple[Path, Path]:
    return root / f"cifar10.1_{version}_data.npy", root / f"cifar10.1_{version}_labels.npy"


def imagenet_c_folder(root: Path, corruption: str, severity: int) -> Path:
    return root / corruption / str(severity)
