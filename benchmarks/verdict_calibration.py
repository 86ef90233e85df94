"""How often the verdict rules are wrong: every rule run on populations simulated from a fit of this book's
population (``--results``: the default Fashion-MNIST population where trained, else ``calibration.DEFAULT_FIT``)
at its sizes (K = 20 per sparse level, 60 dense), with no pruning effect, the seen effects, the paper's shape
and nulls of the wrong kind.

Prints, per claim and scenario, the share of simulations judged each way, the rates held to a target, the
claims not counted (and why), then one line ``null_max=<largest reproduced rate under a null>
planted_min=<smallest reproduced rate under the planted effects>``. Target: null_max <= 0.05 and
planted_min >= 0.8 with at least 200 simulations each. ``--quick`` gives the same line from 6 simulations
per scenario (about 2 minutes on 2 cores).

    python benchmarks/verdict_calibration.py [--simulations 200] [--quick] [--workers 2] [--results DIR]
        [--profile fashion-mnist] [--seed 0] [--out table.csv]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd

from pruning_impact.foundations import store
from pruning_impact.foundations.errors import MissingResultsError
from pruning_impact.foundations.machine import cpu_model
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.verdicts import calibration


def fit_of(results: str, profile: str) -> tuple[calibration.SimulatorFit, str]:
    """The fit of the stored population, or ``DEFAULT_FIT`` where it is not trained; and where it came from."""
    settings = get_profile(profile)
    try:
        store.require_trained(results, settings)
    except MissingResultsError:
        return calibration.DEFAULT_FIT, "DEFAULT_FIT (no trained population in " + results + ")"
    return calibration.fit_for_population(results, settings), f"the {profile} population in {results}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=200, help="populations per scenario (default 200)")
    parser.add_argument("--quick", action="store_true", help="6 populations per scenario")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    parser.add_argument(
        "--seed",
        type=int,
        default=calibration.TUNING_SEED,
        help=f"{calibration.TUNING_SEED} tunes the rules, {calibration.VALIDATION_SEED} validates them as the book does "
        f"(default {calibration.TUNING_SEED})",
    )
    parser.add_argument("--results", default="results", help="results folder to fit from (default results)")
    parser.add_argument("--profile", default="fashion-mnist", help="profile of the population fitted")
    parser.add_argument("--out", help="also write the rates to this CSV file")
    args = parser.parse_args(argv)
    simulations = 6 if args.quick else args.simulations
    fit, source = fit_of(args.results, args.profile)
    scalars = {name: value for name, value in fit.key().items() if not isinstance(value, dict)}
    print(f"fit from {source}: {scalars}; PIE excess {fit.pie_excess}")
    start = time.perf_counter()
    rates = calibration.calibrate(fit, simulations, args.seed, workers=args.workers, progress=False)
    seconds = time.perf_counter() - start
    if args.out:
        rates.to_csv(args.out, index=False)
    shown = rates.drop(columns=["reason", "seed", "k", "k_dense", "n"])
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(shown.round(3).to_string(index=False))
        print(calibration.targets(rates).round(3).to_string(index=False))
    print(f"{simulations} simulations per scenario in {seconds:.1f} s on {cpu_model()} ({platform.machine()})")
    result = calibration.summary(rates)
    for claim, why in result["not_counted"].items():
        print(f"claim {claim} not counted: {why}")
    print(f"null_max={result['null_max']:.3f} planted_min={result['planted_min']:.3f}")


if __name__ == "__main__":
    main()
