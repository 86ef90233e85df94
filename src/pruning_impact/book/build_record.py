"""How long the book's builds took: each build's stage times added to its population's record
(``record_build``), and the latest build that trained models, as a sentence and a table for the chapters
(``build_timings``)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from pruning_impact.foundations import store
from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.settings import Settings

BUILD_STAGES = (
    "train",
    "analysis",
    "robustness",
    "compression methods",
    "classroom population",
    "calibration",
)  # the runner's stages, in the order it runs them (``runner.STAGES``)


def record_build(
    results_dir: Path,
    settings: Settings,
    where: str,
    trained: int,
    evaluated: int,
    setup: float | None,
    stages: dict[str, float],
) -> None:
    """Add a build's times to the population's timings record (read by ``build_timings``)."""
    from pruning_impact.training.train import training_precision  # torch: only when recording a build

    store.append_timings(
        store.population_dir(results_dir, settings),
        {
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine(),
            "executor": where,
            "precision": training_precision(settings),
            "models": sum(settings.population.size_at(s) for s in settings.population.levels),
            "models_trained": trained,
            "models_evaluated": evaluated,
            "setup_seconds": setup,
            "stage_seconds": stages,
        },
    )


def build_timings(
    results_dir: str | Path, settings: Settings, setup_note: bool = True
) -> tuple[str, pd.DataFrame] | None:
    """How long the latest build that trained models of this population took, as a sentence (date,
    machine, how many models it trained) and a table (minutes, and seconds per model where it trained or
    evaluated any); the latest build when none trained a model; None when no build recorded its times.
    ``setup_note``: say when the build's setup was not timed (a population trained beside another's has
    no setup of its own)."""
    records = store.read_timings(store.population_dir(results_dir, settings))
    if not records:
        return None
    trained = [r for r in records if r.get("models_trained")]
    record = (trained or records)[-1]
    return build_sentence(record, setup_note), stage_table(record)


def build_sentence(record: dict, setup_note: bool) -> str:
    """Where and when a build ran, and how many models it trained."""
    cpu = record["machine"]
    # records written before the Ray executor name the worker processes only
    where = record.get("executor") or f"{record['workers']} worker process{'es' if record['workers'] != 1 else ''}"
    sentence = (
        f"{record['date']}, on {cpu['processor']} ({cpu['cores']} cores; instruction sets: "
        f"{', '.join(cpu['speed_flags']) or 'none listed'}), with {where}, training in "
        f"{record['precision']}; it trained "
        f"{record['models_trained']} of the population's {record['models']} models"
    )
    if setup_note and record.get("setup_seconds") is None:
        sentence += " (it was not started by `make book`, so its setup was not timed)"
    return sentence


def stage_table(record: dict) -> pd.DataFrame:
    """A build's stages in order: seconds, minutes, and seconds per model where it trained or evaluated any."""
    stages = record["stage_seconds"]
    counts = {"train": record["models_trained"], "robustness": record["models_evaluated"]}
    rows = [{"stage": "setup and data (before the book command)", "seconds": record.get("setup_seconds")}]
    rows += [{"stage": name, "seconds": stages[name]} for name in BUILD_STAGES if name in stages]
    for row in rows:
        row["minutes"] = None if row["seconds"] is None else row["seconds"] / 60
        models = counts.get(row["stage"]) or None
        row["models"] = models
        row["seconds per model"] = row["seconds"] / models if models else None
    total = sum(row["seconds"] or 0.0 for row in rows)
    rows.append({"stage": "total before the notebooks", "seconds": total, "minutes": total / 60})
    table = pd.DataFrame(rows, columns=["stage", "seconds", "minutes", "models", "seconds per model"])
    table["models"] = pd.Series([row.get("models") for row in rows], dtype=object)  # whole numbers, or "-"
    return table
