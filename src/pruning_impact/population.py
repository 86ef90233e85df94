"""Train a population: K models per sparsity, each skipped when its finished run is already stored."""

from __future__ import annotations

import hashlib
import io
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import __version__, store
from .data import load_dataset
from .settings import Settings
from .train import train_model


def model_seed(settings: Settings, sparsity: float, index: int) -> int:
    """A seed derived from the base seed, the sparsity and the model index (stable across machines)."""
    key = f"{settings.population.seed}/{store.format_sparsity(sparsity)}/{index}"
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def code_version() -> str:
    """The git commit of this package's source (with '-dirty' for local changes), or the package version."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"pruning-impact {__version__} (not a git checkout)"


def provenance(device: str) -> dict:
    return {"code_version": code_version(), "package_version": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__, "platform": platform.platform(),
            "device": device, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


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


def train_population(settings: Settings, results_dir: str | Path, progress: bool = True) -> PopulationReport:
    """Train every missing or damaged model of the population; finished runs are kept as they are."""
    pop_dir = store.population_dir(results_dir, settings)
    data = load_dataset(settings.data)
    store.write_population_info(pop_dir, settings, data.class_names, data.test_labels)
    runs = planned_runs(settings)
    todo = [(s, i) for s, i in runs if not store.run_is_done(store.run_dir(pop_dir, s, i))]
    started = time.perf_counter()
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=f"population {settings.profile}",
               unit="model", disable=not progress, dynamic_ncols=True)
    for sparsity, index in todo:
        directory = store.run_dir(pop_dir, sparsity, index)
        store.clear_run(directory)
        seed = model_seed(settings, sparsity, index)
        trained = train_model(settings, sparsity, seed, progress=progress,
                              description=f"t={store.format_sparsity(sparsity)} model {index}")
        buffer = io.BytesIO()
        torch.save(trained.model.state_dict(), buffer)
        run_info = {"settings": settings.to_dict(), "settings_hash": settings.hash, "sparsity": sparsity,
                    "index": index, "seed": seed, "provenance": provenance(trained.metrics["device"])}
        store.write_run(directory, buffer.getvalue(), trained.logits, trained.metrics, run_info)
        bar.update(1)
        bar.set_postfix(last_top1=f"{trained.metrics['top1']:.4f}", refresh=True)
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
        rows.append({"sparsity": sparsity, "expected": expected, "finished": len(done),
                     "missing": max(expected - len(done), 0),
                     "mean_top1": float(np.mean(top1)) if top1 else None})
    return rows
