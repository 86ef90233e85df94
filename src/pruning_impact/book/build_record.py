"""How long the book's builds took: each build's stage times added to its population's record
(``record_build``), and the latest build that trained models, as a sentence and a table for the chapters
(``build_timings``)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from pruning_impact.book import prose
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
    "verdict stability",
)  # the build's stages, in the order it runs them (``build.STAGES``)
STAGE_COLUMNS = ["stage", "seconds", "minutes", "models", "seconds per model"]  # of the build-time table


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
            "models": settings.population.total_models,
            "models_trained": trained,
            "models_evaluated": evaluated,
            "setup_seconds": setup,
            "stage_seconds": stages,
        },
    )


def build_timings(results_dir: str | Path, settings: Settings, setup_note: bool = True) -> tuple[str, pd.DataFrame]:
    """How long the latest build that trained models of this population took, as a sentence (date,
    machine, how many models it trained) and a table (minutes, and seconds per model where it trained or
    evaluated any); the latest build when none trained a model; a sentence saying so and an empty table when
    no build recorded its times. ``setup_note``: say when the build's setup was not timed (a population
    trained beside another's has no setup of its own)."""
    records = store.read_timings(store.population_dir(results_dir, settings))
    if not records:
        return prose.NO_BUILD_SENTENCE, pd.DataFrame(columns=STAGE_COLUMNS)
    trained = [r for r in records if r.get("models_trained")]
    record = (trained or records)[-1]
    return prose.build_sentence(record, setup_note), stage_table(record)


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
    table = pd.DataFrame(rows, columns=STAGE_COLUMNS)
    table["models"] = pd.Series([row.get("models") for row in rows], dtype=object)  # whole numbers, or "-"
    return table
