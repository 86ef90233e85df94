"""Compression methods side by side: the tables that compare the populations of other methods
(``training.variants``) with magnitude pruning against one dense reference at one population size K.

The comparison reads the dense models of the paper's population, split by position for groups of K
(``foundations.dense_split``): the reference, its partners (a "no compression" row, and the pool of every
noise floor), a second dense group when more than K are held out (its disagreement set gives the floor of
the sets' overlap), and the other held-out models, which score the exemplar sets; the last few, with their
checkpoints, give the variance of gradients (VoG). No set is scored by a model that defined it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_impact.analysis.disparity import auc, cev_sde, cev_sde_floor, rank_p_value, taxicab_scores
from pruning_impact.analysis.pie import modal_labels, pie_noise_floor
from pruning_impact.analysis.run import code_digest
from pruning_impact.analysis.stats import class_level_tests, model_accuracies
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.levels import level_name
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.provenance import provenance, source_digest
from pruning_impact.foundations.settings import PRUNING_METHODS, QUANTIZATION_BITS, Settings
from pruning_impact.training.variants import BOOK_COMPARISON_SIZE, BOOK_METHODS, compared_levels, variant_settings

VOG_MODELS = 5  # held-out dense models whose checkpoints give VoG
NO_COMPRESSION = "none (dense partner)"
SECOND_DENSE = "none (second dense group)"  # only in the overlap table: the floor of two sets' overlap
TABLES = ("levels", "magnitude_levels", "class_effects", "overlap", "shared", "scores", "class_agreement")


def comparison_key(base: Settings, methods: tuple[str, ...], k: int, options: AnalysisOptions) -> str:
    text = json.dumps({"methods": methods, "k": k, "options": dataclasses.asdict(options)}, sort_keys=True)
    return f"k{k}-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _predictions(results_dir, settings: Settings, level: float, k: int | None = None) -> np.ndarray:
    return store.load_predictions(results_dir, settings, level, k)[0]


def _vog_runs(base: Settings, results_dir, k: int) -> list[Path]:
    """The held-out dense models VoG is computed from: the last ``VOG_MODELS`` (never the reference or its
    partners), those that keep checkpoints."""
    pop_dir = store.population_dir(results_dir, base)
    last = DenseSplit(base.population.size_at(0.0), k).last_held_out(VOG_MODELS)
    runs = [store.run_dir(pop_dir, 0.0, i) for i in range(last.start, last.stop)]
    return [run for run in runs if len(store.checkpoint_files(run)) >= 2]


def compare(
    base: Settings,
    results_dir: str | Path,
    methods: tuple[str, ...],
    k: int,
    options: AnalysisOptions,
    vog: np.ndarray | None,
) -> dict[str, pd.DataFrame]:
    """Every table of the comparison (see ``TABLES``) from stored predictions, and ``vog`` [N] (class
    standardised; None when no held-out model keeps checkpoints)."""
    names = store.read_population_info(store.population_dir(results_dir, base))["class_names"]
    dense, labels = store.load_predictions(results_dir, base, 0.0)
    split = DenseSplit(len(dense), k)  # a second group (when more than K are held out) gives the overlap's floor
    reference, partner = dense[split.reference], dense[split.partners]
    second_group = dense[split.second_group] if split.second_group is not None else None
    held_out = dense[split.scorers]
    held_hits = (held_out == labels).mean(axis=0) if len(held_out) else np.full(len(labels), np.nan)

    groups = {(NO_COMPRESSION, 0.0): partner}
    for method, level in compared_levels(base, methods):
        settings = base if method == "magnitude" else variant_settings(base, method, k)
        groups[(method, level)] = _predictions(results_dir, settings, level, k)

    compared = Compared(reference, partner, labels, tuple(names), held_hits, len(held_out), vog, options)
    floors = noise_floors(dense[split.floor_pool], labels, len(names), k, options)
    rng = np.random.default_rng(options.seed)
    rows, class_rows, sets, scores = [], [], {}, {"example": np.arange(len(labels)), "label": labels}
    for (method, level), predictions in groups.items():
        row, tests, cie, taxicab = compared.row(method, level, predictions, floors, rng)
        sets[(method, level)] = cie
        scores[f"taxicab {method} {row['level_name']}"] = taxicab
        scores[f"cie {method} {row['level_name']}"] = cie
        rows.append(row)
        class_rows += tests
    if vog is not None:
        scores["vog"] = vog

    overlap = [_overlap(a, set_a, b, set_b) for (a, set_a), (b, set_b) in combinations(sets.items(), 2)]
    second = modal_labels(second_group) != compared.reference_modes if second_group is not None else None
    if second is not None:  # the overlap of two sets no compression made: two dense groups against the reference
        overlap.append(_overlap((NO_COMPRESSION, 0.0), sets[(NO_COMPRESSION, 0.0)], (SECOND_DENSE, 0.0), second))
    magnitude_levels = [
        compared.magnitude_level(level, _predictions(results_dir, base, level, k))
        for level in sorted(base.population.compressed_levels)
    ]
    tables = {
        "magnitude_levels": pd.DataFrame(magnitude_levels),
        "shared": shared_exemplars(sets, held_hits, second),
        "levels": pd.DataFrame(rows),
        "class_effects": pd.concat(class_rows, ignore_index=True),
        "overlap": pd.DataFrame(overlap),
        "scores": pd.DataFrame(scores),
    }
    tables["class_agreement"] = class_agreement(tables["class_effects"], options)
    return tables


def noise_floors(pool: np.ndarray, labels: np.ndarray, num_classes: int, k: int, options: AnalysisOptions) -> dict:
    """What two dense groups of K from ``pool`` give by chance: CIE counts, CEV and SDE (mean, 97.5th centile)."""
    floor = pie_noise_floor(pool, k, options.repeats, options.seed)["n_pie"]
    cev_floor = cev_sde_floor(pool, labels, num_classes, k, options.repeats, options.seed)
    return {
        "cie_floor_mean": float(floor.mean()),
        "cie_floor_p975": float(np.quantile(floor, 0.975)),
        "cev_floor_mean": float(cev_floor["cev"].mean()),
        "cev_floor_p975": float(cev_floor["cev"].quantile(0.975)),
        "sde_floor_mean": float(cev_floor["sde"].mean()),
        "sde_floor_p975": float(cev_floor["sde"].quantile(0.975)),
    }


@dataclass
class Compared:
    """What every row of the comparison is measured against: the reference, its partners (the quantized models'
    sources) and the held-out models' hits; a row is one method at one level."""

    reference: np.ndarray  # [K, N]
    partner: np.ndarray  # [K, N]
    labels: np.ndarray  # [N]
    names: tuple[str, ...]
    held_hits: np.ndarray  # [N] the held-out dense models' mean top-1 per image
    held_out_models: int
    vog: np.ndarray | None
    options: AnalysisOptions

    def __post_init__(self) -> None:
        self.reference_modes = modal_labels(self.reference)

    def row(
        self, method: str, level: float, predictions: np.ndarray, floors: dict, rng: np.random.Generator
    ) -> tuple[dict, list[pd.DataFrame], np.ndarray, np.ndarray]:
        """One row of the ``levels`` table, its class tests, its exemplar set (CIE) and its taxicab scores."""
        labels, num_classes, vog, held_hits = self.labels, len(self.names), self.vog, self.held_hits
        cie = modal_labels(predictions) != self.reference_modes
        taxicab = taxicab_scores(self.reference, predictions, num_classes)
        name = level_name(level) if method != NO_COMPRESSION else "dense"
        top1 = model_accuracies(predictions, labels)
        draws = self.options.random_samples
        random_sets = [rng.choice(len(labels), int(cie.sum()), replace=False) for _ in range(draws)]
        row = {
            "method": method,
            "level": level,
            "level_name": name,
            "k": len(predictions),
            "top1_mean": float(top1.mean()),
            "top1_std": float(top1.std(ddof=1)) if len(top1) > 1 else np.nan,
            "n_cie": int(cie.sum()),
            "cie_floor_mean": floors["cie_floor_mean"],
            "cie_floor_p975": floors["cie_floor_p975"],
            **cev_sde(self.reference, predictions, labels, num_classes),
            **{key: value for key, value in floors.items() if not key.startswith("cie")},
            "held_out_models": self.held_out_models,
            "held_out_top1_cie": float(held_hits[cie].mean()) if cie.any() else np.nan,
            "held_out_top1_random": float(np.mean([held_hits[s].mean() for s in random_sets])) if cie.any() else np.nan,
            # a quantized model i against the dense model it was made from (partner i): what quantization changed
            "agreement_with_source": float((predictions == self.partner).mean())
            if method in QUANTIZATION_BITS
            else np.nan,
            "taxicab_mean": float(taxicab.mean()),
            "taxicab_auc_cie": auc(taxicab, cie),
            "vog_auc_cie": auc(vog, cie) if vog is not None else np.nan,
            "vog_p": rank_p_value(vog, cie) if vog is not None else np.nan,
        }
        class_rows = []
        options = self.options
        for correction in (None, options.correction) if options.correction else (None,):
            tests = class_level_tests(
                self.reference, predictions, labels, num_classes, options.alpha, correction, self.names, options.shift
            )
            label, significant = correction or "none", tests["significant"]
            row[f"n_significant_{label}"] = int(significant.sum())
            row[f"n_decrease_{label}"] = int((significant & (tests["normalized_recall_difference"] < 0)).sum())
            row[f"n_increase_{label}"] = int((significant & (tests["normalized_recall_difference"] > 0)).sum())
            class_rows.append(tests.assign(method=method, level=level, level_name=name))
        return row, class_rows, cie, taxicab

    def magnitude_level(self, level: float, predictions: np.ndarray) -> dict:
        """One row of the ``magnitude_levels`` table: the paper's method at one sparsity against the reference."""
        return {
            "sparsity": level,
            "n_cie": int((modal_labels(predictions) != self.reference_modes).sum()),
            **cev_sde(self.reference, predictions, self.labels, len(self.names)),
        }


def shared_exemplars(
    sets: dict[tuple[str, float], np.ndarray], held_hits: np.ndarray, second: np.ndarray | None
) -> pd.DataFrame:
    """Images in the exemplar set of every pruning method (their models are trained independently of each other
    and of the reference), beside the floor: images in both sets no compression made (the partners' and a
    second dense group's, against the same reference); how many independent sets would share, and the held-out
    dense models' top-1 on each. The quantized rows are left out: they are the partners converted, so their sets
    are nearly the partners' by construction."""
    pruned = [cie for (method, _), cie in sets.items() if method in PRUNING_METHODS]
    subsets = [("in every pruning method's set", pruned)]
    if second is not None:
        subsets.append(("in both sets made without compression", [sets[(NO_COMPRESSION, 0.0)], second]))
    rows = []
    for name, members in subsets:
        mask = np.logical_and.reduce(members)
        rows.append(
            {
                "images": name,
                "sets": len(members),
                "n": int(mask.sum()),
                "expected_if_independent": float(len(mask) * np.prod([m.mean() for m in members])),
                "held_out_top1": float(held_hits[mask].mean()) if mask.any() else np.nan,
            }
        )
    rows.append(
        {
            "images": "all test images",
            "sets": 0,
            "n": len(held_hits),
            "expected_if_independent": float(len(held_hits)),
            "held_out_top1": float(np.mean(held_hits)),
        }
    )
    return pd.DataFrame(rows)


def _overlap(a: tuple[str, float], set_a: np.ndarray, b: tuple[str, float], set_b: np.ndarray) -> dict:
    """How much two exemplar sets share: counts, Jaccard index, and what independent sets would share."""
    union = (set_a | set_b).sum()
    return {
        "method_a": a[0],
        "level_a": a[1],
        "method_b": b[0],
        "level_b": b[1],
        "n_a": int(set_a.sum()),
        "n_b": int(set_b.sum()),
        "n_both": int((set_a & set_b).sum()),
        "jaccard": float((set_a & set_b).sum() / union) if union else np.nan,
        "expected_both": float(set_a.mean() * set_b.mean() * len(set_a)),  # independent sets of these sizes
    }


def class_agreement(class_effects: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """For each compressed row against the paper's method: the correlation of their per-class normalized
    differences, and how many classes both find significant in the same direction (uncorrected tests)."""
    tests = class_effects[class_effects["correction"] == "none"]
    magnitude = tests[tests["method"] == "magnitude"].set_index("class")
    rows = []
    for (method, level), group in tests.groupby(["method", "level"], sort=False):
        if method == "magnitude":
            continue
        other = group.set_index("class")
        both = magnitude["significant"] & other["significant"]
        same_sign = np.sign(magnitude["normalized_recall_difference"]) == np.sign(other["normalized_recall_difference"])
        rows.append(
            {
                "method": method,
                "level": level,
                "level_name": group["level_name"].iloc[0],
                "correlation": float(
                    np.corrcoef(magnitude["normalized_recall_difference"], other["normalized_recall_difference"])[0, 1]
                ),
                "n_significant_magnitude": int(magnitude["significant"].sum()),
                "n_significant_other": int(other["significant"].sum()),
                "n_same_direction": int((both & same_sign).sum()),
            }
        )
    return pd.DataFrame(rows)


def _inputs(base: Settings, results_dir, methods, k, options) -> dict:
    pop_dir = store.population_dir(results_dir, base)
    runs = [store.run_dir(pop_dir, 0.0, i) for i in range(base.population.size_at(0.0))]
    runs += [store.run_dir(pop_dir, level, i) for level in base.population.compressed_levels for i in range(k)]
    for method in methods:
        settings = variant_settings(base, method, k)
        variant_dir = store.population_dir(results_dir, settings)
        runs += [
            store.run_dir(variant_dir, level, i) for level in settings.population.compressed_levels for i in range(k)
        ]
    code = source_digest(__name__, "pruning_impact.analysis.disparity", "pruning_impact.analysis.vog")
    return {
        "key": comparison_key(base, methods, k, options),
        "runs": folders.fingerprint(runs),
        "code": code_digest() + code[:12],
    }


def run_comparison(
    base: Settings,
    results_dir: str | Path,
    methods: tuple[str, ...] = BOOK_METHODS,
    k: int = BOOK_COMPARISON_SIZE,
    options: AnalysisOptions = AnalysisOptions(),
    progress: bool = False,
) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The comparison tables of the trained methods' populations: read when fresh, else computed (VoG
    included, from the held-out dense models' checkpoints) and written with settings and provenance."""
    pop_dir = store.population_dir(results_dir, base)
    folder = store.methods_dir(pop_dir, comparison_key(base, methods, k, options))
    for method in methods:
        store.require_trained(results_dir, variant_settings(base, method, k))

    def compute() -> dict[str, pd.DataFrame]:
        vog = None
        runs = _vog_runs(base, results_dir, k)
        if runs:
            from pruning_impact.analysis.vog import vog_scores
            from pruning_impact.training.datasets import load_dataset
            from pruning_impact.training.train import resolve_device

            vog = vog_scores(base, runs, load_dataset(base.data), resolve_device(base.training.device), progress)[1]
        return compare(base, results_dir, methods, k, options, vog)

    record = {"settings": base.to_dict(), "methods": list(methods), "k": k, "provenance": provenance()}
    return folder, folders.cached_tables(folder, _inputs(base, results_dir, methods, k, options), compute, record)


# ----------------------------------------------------------------------------- what the chapter says
