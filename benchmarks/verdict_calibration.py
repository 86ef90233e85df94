"""How often the verdict rules are wrong: every rule run on simulated populations at the default sizes
(K = 10 per sparse level, 30 dense) with no pruning effect and with planted effects.

Prints, per claim and scenario, the share of simulations judged reproduced / not reproduced / mixed /
inconclusive, then one line ``null_max=<largest reproduced rate with no effect> planted_min=<smallest
reproduced rate under the planted effects>``. Target: null_max <= 0.05 and planted_min >= 0.8 with at
least 200 simulations each. ``--quick`` gives the same line from fewer simulations in under a minute.

    python benchmarks/verdict_calibration.py [--simulations 200] [--quick] [--workers 2] [--out table.csv]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd

from pruning_impact.foundations.machine import cpu_model
from pruning_impact.verdicts import calibration


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=200, help="populations per scenario (default 200)")
    parser.add_argument("--quick", action="store_true", help="20 populations per scenario")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the rates to this CSV file")
    args = parser.parse_args(argv)
    simulations = 20 if args.quick else args.simulations
    start = time.perf_counter()
    rates = calibration.calibrate(simulations, args.seed, workers=args.workers, progress=False)
    seconds = time.perf_counter() - start
    if args.out:
        rates.to_csv(args.out, index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(rates.round(3).to_string(index=False))
    print(f"planted scenario per claim: {calibration.PLANTED}")
    for claim, why in calibration.UNDERPOWERED.items():
        print(f"claim {claim} has no planted test: {why}")
    print(f"{simulations} simulations per scenario in {seconds:.1f} s on {cpu_model()} ({platform.machine()})")
    result = calibration.summary(rates)
    print(f"null_max={result['null_max']:.3f} planted_min={result['planted_min']:.3f}")


if __name__ == "__main__":
    main()
