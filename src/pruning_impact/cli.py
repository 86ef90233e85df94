"""Command line: ``pruning-impact train | status`` (also ``python -m pruning_impact``)."""

from __future__ import annotations

import argparse
import sys

from . import store
from .errors import PruningImpactError
from .population import population_status, train_population
from .profiles import DEFAULT_PROFILE, PROFILES, get_profile
from .settings import Settings

DEFAULT_RESULTS = "results"


def _add_population_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default=DEFAULT_PROFILE,
                        help=f"named settings ({', '.join(PROFILES)}); default {DEFAULT_PROFILE}")
    parser.add_argument("--results", default=DEFAULT_RESULTS, help="results folder (default: results)")
    parser.add_argument("--population-size", type=int, metavar="K", help="models per sparse level (default: the profile's)")
    parser.add_argument("--dense-population-size", type=int, metavar="K0",
                        help="models at sparsity 0 (default: the profile's)")
    parser.add_argument("--sparsities", type=float, nargs="+", metavar="T", help="final sparsities, e.g. 0 0.5 0.9")
    parser.add_argument("--data-dir", help="where the dataset is looked for (default: the profile's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="training device (default: auto)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The profile's settings with the command line's overrides applied (and validated)."""
    settings = get_profile(args.profile)
    population, data, training = {}, {}, {}
    if args.population_size is not None:
        population["population_size"] = args.population_size
        if args.dense_population_size is None and settings.population.dense_population_size is not None:
            ratio = settings.population.dense_population_size / settings.population.population_size
            population["dense_population_size"] = max(int(round(ratio * args.population_size)), 1)
    if args.dense_population_size is not None:
        population["dense_population_size"] = args.dense_population_size
    if args.sparsities is not None:
        population["sparsities"] = tuple(args.sparsities)
    if args.data_dir is not None:
        data["data_dir"] = args.data_dir
    if args.device is not None:
        training["device"] = args.device
    return settings.replace(population=population, data=data, training=training)


def cmd_train(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    pop = settings.population
    print(f"Population {settings.name}: sparsities {', '.join(store.format_sparsity(s) for s in pop.sparsities)}; "
          f"K = {pop.population_size} (dense: {pop.size_at(0.0)}); results in {store.population_dir(args.results, settings)}")
    report = train_population(settings, args.results, progress=not args.quiet)
    print(f"Trained {report.trained} model(s), kept {report.skipped} finished one(s) in {report.seconds:.1f} s.")
    _print_status(settings, args.results)
    return 0


def _print_status(settings: Settings, results: str) -> None:
    rows = population_status(settings, results)
    print(f"{'sparsity':>8}  {'finished':>8}  {'expected':>8}  {'mean top-1':>10}")
    for row in rows:
        top1 = "-" if row["mean_top1"] is None else f"{row['mean_top1']:.4f}"
        print(f"{store.format_sparsity(row['sparsity']):>8}  {row['finished']:>8}  {row['expected']:>8}  {top1:>10}")
    missing = sum(row["missing"] for row in rows)
    if missing:
        print(f"{missing} model(s) missing; train them with: {store.train_command(settings, results)}")


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(f"Population {settings.name} in {store.population_dir(args.results, settings)}")
    _print_status(settings, args.results)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pruning-impact", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the population (finished models are skipped)")
    _add_population_options(train)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=cmd_train)
    status = commands.add_parser("status", help="what is trained and what is missing, per sparsity")
    _add_population_options(status)
    status.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PruningImpactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished models are kept; run the same command again to continue", file=sys.stderr)
        return 130
