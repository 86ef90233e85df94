"""How stable each verdict is: the share of resamples of the models that give the verdict the whole
population gives.

A verdict rests on K models per group; another K from the same training recipe could say otherwise.
Resampling the models of each group (``resample_population``) and judging again estimates how often it
would. The resamples are drawn *without* replacement, ``SUBSAMPLE`` of each group (a subsampling
bootstrap): drawn with replacement, a model and its copies would enter the t-tests and the permutation
nulls as independent models, which makes groups look more different than they are (on the default
population, claim 2l was "inconclusive" on the data and "reproduced" in all of 50 resamples with
replacement). A subsample shares most of its models with the population, so the share measures how much
a verdict depends on a fifth of the models, not how often a new population would repeat it: it is
optimistic for a verdict far from its threshold and pessimistic near it (smaller groups, less power). the analysis verdicts from the whole analysis of each resampled
population, the robustness verdicts from resampled per-model robustness tables (``resample_robustness``).
Models keep their roles: the dense reference, the rest of the floor pool and the held-out dense models
are resampled each within itself, so no model changes what it is used for. A verdict whose share is
below ``UNSTABLE`` is flagged by the chapter.

``run_stability`` caches the table in the analysis folder until the analysis, the robustness tables,
the resamples or the verdict code change (the book's build makes it; a chapter finds it fresh).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pruning_impact.analysis.predictions import Population, load_population
from pruning_impact.analysis.run import ANALYSIS_CODE, analyze, run_analysis
from pruning_impact.foundations import folders
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.executor import run_jobs
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.provenance import provenance, source_digest
from pruning_impact.foundations.settings import Settings
from pruning_impact.verdicts import judge

logger = logging.getLogger(__name__)
UNSTABLE = 0.8  # a verdict that fewer resamples than this share repeat is flagged as unstable
SUBSAMPLE = 0.8  # share of each group's models in a resample, drawn without replacement
RESAMPLES = 50  # resamples behind the book's stability column (a share's standard error is at most 0.07)
STABILITY_DIR = "stability"  # in the analysis folder: one folder per (resamples, seed, robustness tables)
COLUMNS = ["label", "verdict", "same_share", "resamples", "other_verdict", "other_share"]


# ----------------------------------------------------------------------------- resampling


def subsample_size(size: int) -> int:
    """How many of a group of ``size`` models a resample keeps (at least 2 where there are 2)."""
    return min(size, max(2, round(SUBSAMPLE * size)))


def _draw(rng: np.random.Generator, members: np.ndarray) -> np.ndarray:
    """``subsample_size`` of ``members``, drawn without replacement, in their order."""
    return np.sort(rng.choice(members, size=subsample_size(len(members)), replace=False)) if len(members) else members


def dense_groups(split: DenseSplit) -> list[slice]:
    """The dense models' positional groups, each resampled within itself: the reference, the rest of the
    floor pool and the held-out models."""
    return [split.reference, slice(split.reference.stop, split.floor_pool.stop), split.held_out]


def resample_population(population: Population, rng: np.random.Generator) -> Population:
    """A subsampled population: each group's models drawn without replacement from that group (the dense
    groups of ``dense_groups`` and each sparse level), top-1 and top-5 alike; the settings' sizes follow, so
    the dense split keeps each drawn model in its role; labels and classes kept."""
    dense = np.arange(len(population.top1[0.0]))
    picks = {0.0: np.concatenate([_draw(rng, dense[group]) for group in dense_groups(population.split)])}
    picks.update({s: _draw(rng, np.arange(len(population.top1[s]))) for s in population.sparse_levels})
    k = subsample_size(population.reference_size)
    settings = population.settings.replace(population={"population_size": k, "dense_population_size": len(picks[0.0])})
    return dataclasses.replace(
        population,
        settings=settings,
        top1={s: population.top1[s][picks[s]] for s in population.top1},
        top5={s: population.top5[s][picks[s]] for s in population.top5},
    )


def _model_draw(tables: dict[str, pd.DataFrame], split: DenseSplit, rng: np.random.Generator) -> pd.DataFrame:
    """Which model each resampled model is (sparsity, model, new_model): the evaluated models of each
    sparse level and of each dense group subsampled within it, numbered by position from the
    group's start, so the reference's draws stay in the range the verdicts read."""
    models: dict[float, set[int]] = {}
    for table in tables.values():
        if {"sparsity", "model"} <= set(table.columns):
            for sparsity, model in table[["sparsity", "model"]].drop_duplicates().itertuples(index=False):
                models.setdefault(sparsity, set()).add(model)
    rows = []
    for sparsity, found in models.items():
        ids = np.array(sorted(found))
        for group in dense_groups(split) if sparsity == 0 else [slice(0, int(ids.max()) + 1)]:
            drawn = _draw(rng, ids[(ids >= group.start) & (ids < group.stop)])
            rows += [(sparsity, model, group.start + i) for i, model in enumerate(drawn)]
    return pd.DataFrame(rows, columns=["sparsity", "model", "new_model"])


def _apply_draw(table: pd.DataFrame, draw: pd.DataFrame) -> pd.DataFrame:
    """``table``'s rows of each drawn model, once per draw, under the model's new id."""
    if not {"sparsity", "model"} <= set(table.columns):
        return table
    merged = table.merge(draw, on=["sparsity", "model"], how="inner")
    return merged.assign(model=merged.pop("new_model"))[table.columns]


def resample_robustness(
    tables: dict[str, pd.DataFrame],
    split: DenseSplit,
    rng: np.random.Generator,
    model_accuracies: pd.DataFrame | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """Subsampled robustness tables: the models evaluated at each sparse level, and within each dense group
    of ``split`` (``dense_groups``), subsampled (``_draw``); every per-model table (sparsity and model
    columns) keeps the drawn models' rows, renumbered by position from their group's start, so the
    reference's draws are models ``robustness_verdicts`` reads.
    ``model_accuracies`` (the analysis's, for the natural set's relative accuracy) is resampled by the same
    draw; tables without a model column (``example_flips``) are kept."""
    draw = _model_draw(tables, split, rng)
    resampled = {name: _apply_draw(table, draw) for name, table in tables.items()}
    return resampled, None if model_accuracies is None else _apply_draw(model_accuracies, draw)


# ----------------------------------------------------------------------------- stability


def _analysis_verdicts(population: Population, options: AnalysisOptions, job: tuple[int, int]) -> dict[str, str]:
    """Label -> verdict on one resampled population (``job``: the seed and the resample's index)."""
    rng = np.random.default_rng([*job, 0])
    tables = analyze(resample_population(population, rng), options)
    return {v.label: v.verdict for v in judge.analysis_verdicts(tables, options.alpha)}


def unstable(table: pd.DataFrame) -> str:
    """The verdicts of a stability table repeated by fewer than ``UNSTABLE`` of the resamples, as the book
    lists them ("none" when every verdict is stable)."""
    rows = table[table["same_share"] < UNSTABLE]
    return ", ".join(f"{r.label} ({100 * r.same_share:.0f}%)" for r in rows.itertuples()) or "none"


def stability_table(full: dict[str, str], resampled: list[dict[str, str]]) -> pd.DataFrame:
    """One row per label of ``full`` (label -> verdict on the whole population): the share of ``resampled``
    verdicts that agree, and the most common other verdict with its share (None and 0 when there is none)."""
    rows = []
    for label, verdict in full.items():
        counts = Counter(found.get(label) for found in resampled)
        same = counts.pop(verdict, 0)
        other, times = counts.most_common(1)[0] if counts else (None, 0)
        total = len(resampled)
        rows.append([label, verdict, same / total, total, other, times / total])
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_stability(
    population: Population,
    options: AnalysisOptions | None = None,
    robustness: dict[str, pd.DataFrame] | None = None,
    split: DenseSplit | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    progress: bool = False,
    workers: int = 1,
) -> pd.DataFrame:
    """Every verdict on ``population`` (and on its ``robustness`` tables, when given, with the dense side
    of ``split``, by default the population's) and the share of ``resamples`` subsamples of the
    models that give it again (``stability_table``). The analysis resamples run in ``workers`` processes;
    every resample's draw depends only on ``seed`` and its index, so the table does not depend on them."""
    options = options or AnalysisOptions()
    split = split or population.split
    tables = analyze(population, options)
    full = {v.label: v.verdict for v in judge.analysis_verdicts(tables, options.alpha)}
    jobs = [(seed, i) for i in range(resamples)]
    finished = run_jobs(partial(_analysis_verdicts, population, options), jobs, workers)
    bar = tqdm(finished, total=resamples, disable=not progress, desc="resampled populations")
    by_job = dict(bar)
    resampled = [by_job[job] for job in jobs]
    if robustness is not None:
        accuracies = tables["model_accuracies"]
        found = judge.robustness_verdicts(robustness, split, options.alpha, accuracies)[0]
        full.update({v.label: v.verdict for v in found})
        for i, verdicts in enumerate(resampled):
            rng = np.random.default_rng([seed, i, 1])
            drawn, drawn_accuracies = resample_robustness(robustness, split, rng, accuracies)
            found = judge.robustness_verdicts(drawn, split, options.alpha, drawn_accuracies)[0]
            verdicts.update({v.label: v.verdict for v in found})
    return stability_table(full, resampled)


# ----------------------------------------------------------------------------- cache


def tables_digest(tables: dict[str, pd.DataFrame] | None) -> str | None:
    """A digest of the robustness tables' contents (None without them): it changes when any value does."""
    if tables is None:
        return None
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(name.encode() + b"\0" + tables[name].to_csv(index=False).encode())
    return digest.hexdigest()[:16]


def code_digest() -> str:
    """A hash of the code the verdicts depend on: the rules, this module and the analysis."""
    return source_digest(__name__, *judge.RULES_CODE, *ANALYSIS_CODE)[:16]


def stability_folder(
    analysis_folder: Path, robustness: dict[str, pd.DataFrame] | None, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[Path, dict]:
    """Where the stability table of a (fresh) analysis folder lives, and what it is made from: the
    analysis's inputs (options, runs and code), the robustness tables, the resamples and the verdict code."""
    robust = tables_digest(robustness)
    inputs = {
        "analysis": folders.read_manifest(analysis_folder)["inputs"],
        "robustness": robust,
        "resamples": resamples,
        "seed": seed,
        "code": code_digest(),
    }
    name = f"n{resamples}-seed{seed}-" + (f"robustness-{robust[:8]}" if robust else "analysis-only")
    return analysis_folder / STABILITY_DIR / name, inputs


def run_stability(
    results_dir: str | Path,
    settings: Settings,
    options: AnalysisOptions = AnalysisOptions(),
    robustness: dict[str, pd.DataFrame] | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """``verdict_stability`` of a stored population (and its ``robustness`` tables, e.g. the chapter's
    ``robustness()``), cached in its analysis folder until an input changes; the analysis is made fresh
    first."""
    analysis_folder, _ = run_analysis(results_dir, settings, options)
    folder, inputs = stability_folder(analysis_folder, robustness, resamples, seed)

    def compute() -> dict[str, pd.DataFrame]:
        if progress:
            logger.info(
                "Resampling the models of %s %d times for the verdicts' stability ...", settings.name, resamples
            )
        population = load_population(results_dir, settings)
        table = verdict_stability(population, options, robustness, None, resamples, seed, progress, workers)
        return {"stability": table}

    record = {"settings": settings.to_dict(), "provenance": provenance()}
    return folders.cached_tables(folder, inputs, compute, record)["stability"]
