"""How stable the robustness verdicts (claims 3a, 3a-all, 3b) are against the evaluation budget, without
running any model: a population's stored per-example predictions are cut down to R seeded random
sub-subsamples of their images (the same images for every model, corruption and severity), the tables are
rebuilt with ``robustness_tables`` and judged with ``verdicts.robustness_verdicts``, as the robustness
chapter judges the stored tables.

Prints, per budget (n corrupted images in 250..2000, m attacked images in 125..500), the share of draws
whose verdict on each claim equals the verdict at the full budget ("-" for a claim the budget does not
touch), the images evaluated per model on that part and the cost relative to the full budget. Last line:
``stable_at corruptions=<smallest n> adversarial=<smallest m>`` with agreement >= 0.9 on every claim the
budget touches (none: no budget reaches it). The full-budget rows agree by construction.

    python benchmarks/robustness_budget.py --population fashion-mnist-44136fa355 [--results results]
        [--repeats 20] [--seed 0]

The budgets were chosen on the K = 10 population ``fashion-mnist-44136fa355``, evaluated on 2,000 and 500
images (``benchmarks/NOTES.md``); a population evaluated with smaller subsamples can only be cut further.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pruning_impact import verdicts
from pruning_impact.analysis.run import read_analysis
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.settings import Settings
from pruning_impact.robustness import evaluation
from pruning_impact.robustness import tables as tables_of
from pruning_impact.robustness.shifted_sets import subsample_indices

CORRUPTION_BUDGETS = (250, 500, 1000, 2000)
ADVERSARIAL_BUDGETS = (125, 250, 500)
CLAIMS = {"corruption": ("3a", "3a-all"), "adversarial": ("3b",)}
CLAIM_LABELS = ("3a", "3a-all", "3b")
STABLE = 0.9


def load_predictions(pop_dir: Path, options: RobustnessOptions, runs: list, sources: dict) -> dict:
    """Every evaluated model's stored predictions and the labels of their subsamples, as ``build_tables``
    reads them."""
    key, labels = evaluation.options_key(options), store.load_labels(pop_dir)
    out = {"clean": {}, "corrupted": {}, "adv_clean": {}, "attacked": {}}
    for run in runs:
        folder = store.robustness_dir(store.run_dir(pop_dir, *run), key)
        out["clean"][run] = folders.load_npy(folder / store.CLEAN_TOP5_FILE)
        out["corrupted"][run] = {
            (name, s): folders.load_npy(folder / store.corrupted_top5_file(name, s))
            for name in sources
            for s in options.severities
        }
        out["adv_clean"][run] = folders.load_npy(folder / store.ADVERSARIAL_CLEAN_FILE)
        out["attacked"][run] = {
            (a, e): folders.load_npy(folder / store.adversarial_top1_file(a, e))
            for a in options.attacks
            for e in options.epsilons
        }
    out["labels"] = labels[subsample_indices(len(labels), options.subsample, options.seed)]
    out["adv_labels"] = labels[subsample_indices(len(labels), options.adversarial_subsample, options.seed + 1)]
    return out


def corruption_table(p: dict, rows: np.ndarray, sources: dict) -> pd.DataFrame:
    corrupted = {run: {pair: a[rows] for pair, a in sets.items()} for run, sets in p["corrupted"].items()}
    clean = {run: a[rows] for run, a in p["clean"].items()}
    return tables_of.corruption_table(clean, corrupted, p["labels"][rows], sources)


def adversarial_table(p: dict, rows: np.ndarray) -> pd.DataFrame:
    attacked = {run: {pair: a[rows] for pair, a in sets.items()} for run, sets in p["attacked"].items()}
    clean = {run: a[rows] for run, a in p["adv_clean"].items()}
    return tables_of.adversarial_table(clean, attacked, p["adv_labels"][rows])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results folder (default results)")
    parser.add_argument("--population", required=True, help="population folder in it (profile-hash)")
    parser.add_argument("--repeats", type=int, default=20, help="random sub-subsamples per budget (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--subsample", type=int, default=2000, help="corrupted images the population was evaluated on (default 2000)"
    )
    parser.add_argument(
        "--adversarial-subsample", type=int, default=500, help="attacked images it was evaluated on (default 500)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()

    # the population's own settings (the profile may have changed since), the options it was evaluated with
    pop_dir = Path(args.results) / args.population
    settings = Settings.from_dict(store.read_population_info(pop_dir)["settings"])
    if settings.name != args.population:
        raise SystemExit(f"{pop_dir} holds settings named {settings.name}, not {args.population}")
    options = RobustnessOptions(subsample=args.subsample, adversarial_subsample=args.adversarial_subsample)
    alpha = AnalysisOptions().alpha
    full = evaluation.read_tables(settings, args.results, options)  # what the notebooks read
    accuracies = read_analysis(args.results, settings, AnalysisOptions())["model_accuracies"]
    stored = full["corruption_accuracy"]
    sources = dict(zip(stored["corruption"], stored["source"], strict=True))
    p = load_predictions(pop_dir, options, evaluation.evaluated_runs(settings, options), sources)
    n_full, m_full = len(p["labels"]), len(p["adv_labels"])
    rebuilt = corruption_table(p, np.arange(n_full), sources)
    pd.testing.assert_frame_equal(rebuilt, stored, check_dtype=False)  # the predictions make the stored tables
    pd.testing.assert_frame_equal(adversarial_table(p, np.arange(m_full)), full["adversarial_accuracy"])

    def judge(tables: dict) -> dict[str, str]:
        found, _ = verdicts.robustness_verdicts(tables, settings.population.dense_split, alpha, accuracies)
        return {v.label: v.verdict for v in found}

    baseline = judge(full)
    per_image = {
        "corruption": 1 + len(sources) * len(options.severities),
        "adversarial": 1 + len(options.attacks) * len(options.epsilons),
    }
    rows, stable = [], {}
    for part, budgets, total in (
        ("corruption", CORRUPTION_BUDGETS, n_full),
        ("adversarial", ADVERSARIAL_BUDGETS, m_full),
    ):
        for n in budgets:
            rng = np.random.default_rng((args.seed, len(rows), n))
            seen = {label: Counter() for label in CLAIMS[part]}
            for _ in range(args.repeats):
                draw = np.sort(rng.choice(total, min(n, total), replace=False))
                table = corruption_table(p, draw, sources) if part == "corruption" else adversarial_table(p, draw)
                found = judge({**full, f"{part}_accuracy": table})
                for label in CLAIMS[part]:
                    seen[label][found[label]] += 1
            agree = {label: seen[label][baseline[label]] / args.repeats for label in CLAIMS[part]}
            others = "; ".join(
                f"{label}: " + ", ".join(f"{v} {c}" for v, c in seen[label].most_common() if v != baseline[label])
                for label in CLAIMS[part]
                if agree[label] < 1
            )
            rows.append(
                {
                    "budget": part,
                    "images": n,
                    "images/model": n * per_image[part],
                    "cost": n / total,
                    **{label: agree.get(label, "-") for label in CLAIM_LABELS},
                    "other verdicts": others or "-",
                }
            )
            if part not in stable and min(agree.values()) >= STABLE:
                stable[part] = n
    seconds = time.perf_counter() - start

    dense = sum(run[0] == 0 for run in p["clean"])
    print(
        f"population {settings.name}: {len(p['clean'])} models evaluated ({dense} dense); the verdicts compare "
        f"the first {settings.population.reference_size} dense with the most sparse level at alpha = {alpha}"
    )
    print("full-budget verdicts: " + ", ".join(f"{label} {baseline[label]}" for label in CLAIM_LABELS))
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"{args.repeats} repeats per budget in {seconds:.1f} s on {cpu_model()} ({platform.machine()})")
    print(f"stable_at corruptions={stable.get('corruption', 'none')} adversarial={stable.get('adversarial', 'none')}")


if __name__ == "__main__":
    main()
