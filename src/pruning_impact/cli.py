"""Command line: ``pruning-impact train | status | analyze`` (also ``python -m pruning_impact``)."""

from __future__ import annotations

import argparse
import sys

from . import store
from .analysis import analyze, format_summary, load_population, write_tables
from .population import population_status, train_population
from .profiles import DEFAULT_PROFILE, PROFILES, get_profile
from .settings import Settings
from .errors import PruningImpactError, SettingsError

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


def cmd_analyze(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise SettingsError(f"--alpha {args.alpha} must lie strictly between 0 and 1")
    if args.repeats < 1:
        raise SettingsError(f"--repeats {args.repeats} must be >= 1")
    settings = settings_from_args(args)
    population = load_population(args.results, settings)
    correction = None if args.correction == "none" else args.correction
    tables = analyze(population, correction=correction, alpha=args.alpha, repeats=args.repeats)
    folder = write_tables(args.results, settings, tables)
    k_ref, k_dense = population.reference_size, len(population.top1[0.0])
    print(f"Class-level impact (Table 1) of {settings.name}: dense reference K = {k_ref} of {k_dense} dense models, "
          f"sparse K = {settings.population.population_size}; A/A chance: mean significant classes between two "
          f"disjoint groups of {population.floor_group_size} dense models over {args.repeats} splits")
    print(format_summary(tables["class_summary"], tables["aa_calibration"]))
    counts = tables["pie_counts"]
    floor = counts["noise_floor_mean"].iloc[0] if len(counts) else float("nan")
    print(f"PIEs per sparsity (dense-vs-dense noise floor: {floor:.1f}): "
          + ", ".join(f"{store.format_sparsity(r.sparsity)}: {r.n_pie}" for r in counts.itertuples()))
    print(f"Tables written to {folder}")
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
    analysis = commands.add_parser("analyze", help="class-level tests, PIEs and noise floors; writes CSV tables")
    _add_population_options(analysis)
    analysis.add_argument("--correction", choices=("none", "fdr_bh", "bonferroni"), default="fdr_bh",
                          help="multiple-comparison correction shown beside the uncorrected test (default fdr_bh)")
    analysis.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    analysis.add_argument("--repeats", type=int, default=20, help="random dense splits behind each noise floor")
    analysis.set_defaults(func=cmd_analyze)
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
