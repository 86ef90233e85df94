"""Compression methods side by side: populations of other methods made beside the paper's, and the tables
that compare them against one dense reference at one population size K.

Each method's population (``variant_settings``) shares the paper's population's recipe and its dense
models (copied, not trained again): a pruning method trains K models at the highest sparsity, a
quantization method converts the reference's K partners. The comparison reads the dense models from the
paper's population: the first K are the reference, the next K its partners (a "no compression" row, and
the pool of every noise floor), the next K (when more remain) a second dense group whose disagreement set
gives the floor of the sets' overlap, and the rest are held out and score the exemplar sets; the last
few, with their checkpoints, give the variance of gradients (VoG). No set is scored by a model that
defined it. Seeds differ between methods (``population.model_seed``), so two methods' models are as
independent as two dense groups.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from . import store
from .compression import level_name
from .disparity import auc, cev_sde, cev_sde_floor, rank_p_value, taxicab_scores
from .errors import SettingsError
from .executor import ExecutorOptions
from .pie import modal_labels, pie_noise_floor
from .provenance import provenance
from .settings import PRUNING_METHODS, QUANTIZATION_BITS, AnalysisOptions, Settings
from .stats import class_level_tests, model_accuracies

BOOK_METHODS = ("random", "quantize-fp16", "quantize-int8")  # what ``make book`` compares with magnitude
BOOK_COMPARISON_SIZE = 5
VOG_MODELS = 5  # held-out dense models whose checkpoints give VoG
NO_COMPRESSION = "none (dense partner)"
SECOND_DENSE = "none (second dense group)"  # only in the overlap table: the floor of two sets' overlap
TABLES = ("levels", "magnitude_levels", "class_effects", "overlap", "shared", "scores", "class_agreement")


def comparison_size(base: Settings, k: int | None = None) -> int:
    """K of a comparison: ``k``, or the book's (``BOOK_COMPARISON_SIZE``) where the population has that many
    sparse models and twice as many dense ones (else as many as it has)."""
    pop = base.population
    return k or max(1, min(BOOK_COMPARISON_SIZE, pop.population_size, pop.size_at(0.0) // 2))


def variant_settings(base: Settings, method: str, k: int) -> Settings:
    """The population of ``method`` beside ``base`` at K = ``k``: the highest sparsity for a pruning method,
    the bit width for a quantization method; dense models: the reference and its partners (2K, copied)."""
    if method not in PRUNING_METHODS + tuple(QUANTIZATION_BITS):
        raise SettingsError(
            f"unknown method {method!r}; choose from {', '.join((*PRUNING_METHODS, *QUANTIZATION_BITS))}"
        )
    pop = base.population
    if 2 * k > pop.size_at(0.0) or k > pop.population_size:
        raise SettingsError(
            f"comparing methods at K = {k} needs {2 * k} dense models (a reference and its partners) and {k} at "
            f"the highest sparsity; {base.name} has {pop.size_at(0.0)} and {pop.population_size}: choose a "
            f"smaller K (at most {min(pop.size_at(0.0) // 2, pop.population_size)})"
        )
    population = {"method": method, "population_size": k, "dense_population_size": 2 * k}
    if method in PRUNING_METHODS:
        population["sparsities"] = (0.0, max(pop.sparsities))
    # dense models are copied from the paper's population, and VoG reads that population's checkpoints
    return base.replace(population=population, training={"checkpoints": 0})


def compared_levels(base: Settings, methods: tuple[str, ...]) -> list[tuple[str, float]]:
    """(method, level) of every row of the comparison: the paper's method at its highest sparsity first."""
    top = max(base.population.sparsities)
    rows = [("magnitude", top)]
    for method in methods:
        bits = QUANTIZATION_BITS.get(method)
        rows.append((method, float(bits) if bits else top))
    return rows


def train_variants(
    base: Settings,
    results_dir: str | Path,
    methods: tuple[str, ...] = BOOK_METHODS,
    k: int = BOOK_COMPARISON_SIZE,
    progress: bool = True,
    executor: ExecutorOptions = ExecutorOptions(),
) -> list:
    """Make every missing model of the methods' populations (the paper's population must be trained)."""
    from .population import train_population

    store.require_trained(results_dir, base)
    return [train_population(variant_settings(base, method, k), results_dir, progress, executor) for method in methods]


def comparison_key(base: Settings, methods: tuple[str, ...], k: int, options: AnalysisOptions) -> str:
    text = json.dumps({"methods": methods, "k": k, "options": dataclasses.asdict(options)}, sort_keys=True)
    return f"k{k}-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _predictions(results_dir, settings: Settings, level: float, k: int | None = None) -> np.ndarray:
    return store.load_predictions(results_dir, settings, level, k)[0]


def _vog_runs(base: Settings, results_dir, k: int) -> list[Path]:
    """The held-out dense models VoG is computed from: the last ``VOG_MODELS`` (never the reference or its
    partners), those that keep checkpoints."""
    pop_dir = store.population_dir(results_dir, base)
    dense = base.population.size_at(0.0)
    first = max(2 * k, dense - VOG_MODELS)
    runs = [store.run_dir(pop_dir, 0.0, i) for i in range(first, dense)]
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
    pop_dir = store.population_dir(results_dir, base)
    names = store.read_population_info(pop_dir)["class_names"]
    dense, labels = store.load_predictions(results_dir, base, 0.0)
    num_classes = len(names)
    # a second group of K dense models (when more remain) gives the floor of the sets' overlap; the rest score
    reference, partner = dense[:k], dense[k : 2 * k]
    second_group = dense[2 * k : 3 * k] if len(dense) > 3 * k else None
    held_out = dense[3 * k :] if second_group is not None else dense[2 * k :]
    held_hits = (held_out == labels).mean(axis=0) if len(held_out) else np.full(len(labels), np.nan)

    groups = {(NO_COMPRESSION, 0.0): partner}
    for method, level in compared_levels(base, methods):
        settings = base if method == "magnitude" else variant_settings(base, method, k)
        groups[(method, level)] = _predictions(results_dir, settings, level, k)

    floor = pie_noise_floor(dense[: 2 * k], k, options.repeats, options.seed)["n_pie"]
    cev_floor = cev_sde_floor(dense[: 2 * k], labels, num_classes, k, options.repeats, options.seed)
    rng = np.random.default_rng(options.seed)
    reference_modes = modal_labels(reference)
    rows, class_rows, sets, scores = [], [], {}, {"example": np.arange(len(labels)), "label": labels}
    for (method, level), predictions in groups.items():
        cie = modal_labels(predictions) != reference_modes
        sets[(method, level)] = cie
        taxicab = taxicab_scores(reference, predictions, num_classes)
        name = level_name(level) if method != NO_COMPRESSION else "dense"
        scores[f"taxicab {method} {name}"] = taxicab
        scores[f"cie {method} {name}"] = cie
        top1 = model_accuracies(predictions, labels)
        random_sets = [rng.choice(len(labels), int(cie.sum()), replace=False) for _ in range(options.random_samples)]
        measures = cev_sde(reference, predictions, labels, num_classes)
        row = {
            "method": method,
            "level": level,
            "level_name": name,
            "k": len(predictions),
            "top1_mean": float(top1.mean()),
            "top1_std": float(top1.std(ddof=1)) if len(top1) > 1 else np.nan,
            "n_cie": int(cie.sum()),
            "cie_floor_mean": float(floor.mean()),
            "cie_floor_p975": float(np.quantile(floor, 0.975)),
            **measures,
            "cev_floor_mean": float(cev_floor["cev"].mean()),
            "cev_floor_p975": float(cev_floor["cev"].quantile(0.975)),
            "sde_floor_mean": float(cev_floor["sde"].mean()),
            "sde_floor_p975": float(cev_floor["sde"].quantile(0.975)),
            "held_out_models": len(held_out),
            "held_out_top1_cie": float(held_hits[cie].mean()) if cie.any() else np.nan,
            "held_out_top1_random": float(np.mean([held_hits[s].mean() for s in random_sets])) if cie.any() else np.nan,
            # a quantized model i against the dense model it was made from (partner i): what quantization changed
            "agreement_with_source": float((predictions == partner).mean()) if method in QUANTIZATION_BITS else np.nan,
            "taxicab_mean": float(taxicab.mean()),
            "taxicab_auc_cie": auc(taxicab, cie),
            "vog_auc_cie": auc(vog, cie) if vog is not None else np.nan,
            "vog_p": rank_p_value(vog, cie) if vog is not None else np.nan,
        }
        for correction in (None, options.correction) if options.correction else (None,):
            tests = class_level_tests(
                reference, predictions, labels, num_classes, options.alpha, correction, names, options.shift
            )
            label = correction or "none"
            row[f"n_significant_{label}"] = int(tests["significant"].sum())
            row[f"n_decrease_{label}"] = int((tests["significant"] & (tests["normalized_recall_difference"] < 0)).sum())
            row[f"n_increase_{label}"] = int((tests["significant"] & (tests["normalized_recall_difference"] > 0)).sum())
            class_rows.append(tests.assign(method=method, level=level, level_name=name))
        rows.append(row)
    if vog is not None:
        scores["vog"] = vog

    overlap = [_overlap(a, set_a, b, set_b) for (a, set_a), (b, set_b) in combinations(sets.items(), 2)]
    second = modal_labels(second_group) != reference_modes if second_group is not None else None
    if second is not None:  # the overlap of two sets no compression made: two dense groups against the reference
        overlap.append(_overlap((NO_COMPRESSION, 0.0), sets[(NO_COMPRESSION, 0.0)], (SECOND_DENSE, 0.0), second))
    tables_shared = shared_exemplars(sets, held_hits, second)
    sparsity_rows = []
    for level in sorted(base.population.compressed_levels):
        predictions = _predictions(results_dir, base, level, k)
        sparsity_rows.append(
            {
                "sparsity": level,
                "n_cie": int((modal_labels(predictions) != reference_modes).sum()),
                **cev_sde(reference, predictions, labels, num_classes),
            }
        )
    tables = {
        "magnitude_levels": pd.DataFrame(sparsity_rows),
        "shared": tables_shared,
        "levels": pd.DataFrame(rows),
        "class_effects": pd.concat(class_rows, ignore_index=True),
        "overlap": pd.DataFrame(overlap),
        "scores": pd.DataFrame(scores),
    }
    tables["class_agreement"] = class_agreement(tables["class_effects"], options)
    return tables


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
    from . import disparity, vog
    from .analysis import code_digest

    digest = hashlib.sha256(b"".join(Path(f).read_bytes() for f in (__file__, disparity.__file__, vog.__file__)))
    return {
        "key": comparison_key(base, methods, k, options),
        "runs": store.fingerprint(runs),
        "code": code_digest() + digest.hexdigest()[:12],
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
            from .data import load_dataset
            from .train import resolve_device
            from .vog import vog_scores

            vog = vog_scores(base, runs, load_dataset(base.data), resolve_device(base.training.device), progress)[1]
        return compare(base, results_dir, methods, k, options, vog)

    record = {"settings": base.to_dict(), "methods": list(methods), "k": k, "provenance": provenance()}
    return folder, store.cached_tables(folder, _inputs(base, results_dir, methods, k, options), compute, record)


# ----------------------------------------------------------------------------- what the chapter says


def row_label(method: str, level_name: str) -> str:
    """How a row of the comparison is named in figures and prose: 'random 90%', 'quantize-int8'."""
    return method if method.startswith("quantize") or level_name == "dense" else f"{method} {level_name}"


def random_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """Random against magnitude pruning, class by class, beside the same reading with nothing compressed."""
    levels = tables["levels"].set_index("method")
    correlation = tables["class_agreement"].set_index("method")
    if "random" not in correlation.index:
        return "Random pruning is not among the methods compared here (parameter methods)."
    r = correlation.loc["random"]
    return (
        f"Random pruning at the same sparsity changes {int(levels.loc['random', 'n_significant_none'])}. Across "
        f"classes, the per-class differences of random and magnitude pruning correlate at r = {r['correlation']:.2f}, "
        f"and {int(r['n_same_direction'])} classes are significant for both in the same direction. Every row is "
        "measured against the same reference, whose own noise they share: the 'none' row's differences correlate "
        f"with magnitude pruning's at r = {correlation.loc[NO_COMPRESSION, 'correlation']:.2f}, the value to read "
        "the other against."
    )


def overlap_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """The overlap of magnitude and random pruning's sets, beside that of two sets made without compression."""
    overlap = tables["overlap"]
    floor = overlap[overlap["method_b"] == SECOND_DENSE]
    pair = overlap[(overlap["method_a"] == "magnitude") & (overlap["method_b"] == "random")]
    if len(floor):
        parts = [
            "Two sets no compression made (the 'none' row's and that of a second, disjoint group of dense models, "
            f"both against the reference) have a Jaccard index of {floor['jaccard'].iloc[0]:.3f}: the floor."
        ]
    else:
        parts = ["This population has too few dense models for a second dense group, so the overlap has no floor."]
    if len(pair):
        parts.append(f"Magnitude and random pruning's sets have a Jaccard index of {pair['jaccard'].iloc[0]:.3f}.")
    return " ".join(parts)


def shared_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """The images every pruning method finds, scored by the held-out models, beside the no-compression floor."""
    shared = tables["shared"].set_index("images")
    every = shared.iloc[0]
    sentence = (
        f"{int(every['n'])} images are exemplars of every pruning method "
        f"({every['expected_if_independent']:.1f} expected if the sets were independent); the held-out dense "
        f"models, which defined none of these sets, score {100 * every['held_out_top1']:.1f}% on them, against "
        f"{100 * shared.loc['all test images', 'held_out_top1']:.1f}% on the whole test set."
    )
    if "in both sets made without compression" in shared.index:
        floor = shared.loc["in both sets made without compression"]
        sentence += (
            f" The floor: the two sets made without compression (the partners' and a second dense group's) share "
            f"{int(floor['n'])} images ({floor['expected_if_independent']:.1f} expected), on which the held-out "
            f"models score {100 * floor['held_out_top1']:.1f}%."
        )
    return sentence


def vog_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """How VoG ranks each row's exemplars (AUC, and its direction), or why it is not computed."""
    if "vog" not in tables["scores"]:
        return (
            "No held-out dense model of this population keeps two or more checkpoints (training.checkpoints), so "
            "VoG is not computed here."
        )
    levels = tables["levels"]
    magnitude = levels[levels["method"] == "magnitude"].iloc[0]
    none = levels[levels["method"] == NO_COMPRESSION].iloc[0]
    vog_auc = magnitude["vog_auc_cie"]
    direction = (
        "higher VoG than the other images of their class"
        if vog_auc > 0.5
        else "lower VoG than the other images of their class, the opposite of what makes VoG a difficulty score"
    )
    others = ", ".join(
        f"{row_label(r.method, r.level_name)} {r.vog_auc_cie:.3f}"
        for r in levels.itertuples()
        if r.method not in ("magnitude", NO_COMPRESSION)
    )
    return (
        f"From the checkpoints of held-out dense models, VoG ranks magnitude pruning's exemplars with an AUC of "
        f"{vog_auc:.3f} (Mann-Whitney p = {magnitude['vog_p']:.2g}): they tend to have {direction} (right panel). "
        f"The other rows: {others}; the 'none' row, images two dense groups disagree on: {none['vog_auc_cie']:.3f}."
    )
