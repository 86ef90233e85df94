"""Command line: ``pruning-impact train | status | analyze | robustness | book`` (also ``python -m pruning_impact``)."""

from __future__ import annotations

import argparse
import sys

from . import store
from .analysis import AnalysisOptions, format_summary, run_analysis
from .population import population_status, train_population
from .profiles import DEFAULT_PROFILE, PROFILES, resolve_settings
from .settings import Settings
from .errors import PruningImpactError

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
    parser.add_argument("--seed", type=int, help="base seed of the population (default: the profile's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="training device (default: auto)")


def _add_analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--correction", choices=("none", "fdr_bh", "bonferroni"), default="fdr_bh",
                        help="multiple-comparison correction shown beside the uncorrected test (default fdr_bh)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--repeats", type=int, default=20, help="random dense splits behind each noise floor")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The profile's settings with the command line's overrides applied (and validated)."""
    return resolve_settings(args.profile, args.population_size, args.dense_population_size, args.sparsities,
                            args.seed, args.data_dir, args.device)


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
    options = AnalysisOptions(correction=None if args.correction == "none" else args.correction,
                              alpha=args.alpha, repeats=args.repeats)
    settings = settings_from_args(args)
    folder, tables = run_analysis(args.results, settings, options, progress=True)
    pop = settings.population
    group = int(tables["pie_noise_floor"]["half_size"].iloc[0]) if len(tables["pie_noise_floor"]) else 0
    print(f"Class-level impact (Table 1) of {settings.name}: dense reference K = {pop.reference_size} of {pop.size_at(0.0)} dense "
          f"models, sparse K = {pop.population_size}; A/A chance: mean significant classes between two disjoint "
          f"groups of {group} dense models over {args.repeats} splits")
    print(format_summary(tables["class_summary"], tables["aa_calibration"]))
    counts = tables["pie_counts"]
    floor = counts["noise_floor_mean"].iloc[0] if len(counts) else float("nan")
    print(f"PIEs per sparsity (dense-vs-dense noise floor: {floor:.1f}): "
          + ", ".join(f"{store.format_sparsity(r.sparsity)}: {r.n_pie}" for r in counts.itertuples()))
    print(f"Tables in {folder}")
    return 0


def cmd_robustness(args: argparse.Namespace) -> int:
    from .robustness import RobustnessOptions, evaluate_population, per_model_relative, read_robustness_tables, table5

    options = RobustnessOptions(subsample=args.subsample, adversarial_subsample=args.adversarial_subsample)
    folder = evaluate_population(settings_from_args(args), args.results, options, progress=not args.quiet)
    tables = read_robustness_tables(folder)
    relative = per_model_relative(tables["corruption_accuracy"]).groupby("sparsity")["relative_top1"].agg(["mean", "std", "count"])
    print("Top-1 under corruption relative to clean top-1 (mean over corruptions and severities; mean, std over K models):")
    for sparsity, row in relative.iterrows():
        print(f"  t = {store.format_sparsity(sparsity)}: {row['mean']:.4f} +/- {row['std']:.4f} (K = {int(row['count'])})")
    adversarial = tables["adversarial_accuracy"].groupby(["attack", "epsilon", "sparsity"])["top1"].mean().unstack()
    print("Top-1 under attack (mean over models):")
    print(adversarial.round(4).to_string())
    print(f"Tables in {folder}; Table 5 has {len(table5(tables['corruption_accuracy']))} rows")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import build_book

    parameters = {"correction": args.correction, "alpha": args.alpha, "repeats": args.repeats}
    for name in ("population_size", "dense_population_size", "seed"):
        if getattr(args, name) is not None:
            parameters[name] = getattr(args, name)
    if args.sparsities is not None:
        parameters["sparsities"] = list(args.sparsities)
    settings_from_args(args)  # validates the overrides before anything runs
    index = build_book(args.profile, root=args.root, book_root=args.output, results_dir=args.results,
                       train=not args.no_train, data_dir=args.data_dir, device=args.device, **parameters)
    print(f"The book is built: open {index}")
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
    _add_analysis_options(analysis)
    analysis.set_defaults(func=cmd_analyze)
    robust = commands.add_parser("robustness", help="evaluate every model on corrupted and adversarial test sets")
    _add_population_options(robust)
    robust.add_argument("--subsample", type=int, default=2000, help="test images per corrupted set (default 2000)")
    robust.add_argument("--adversarial-subsample", type=int, default=500, help="test images attacked per model")
    robust.add_argument("--quiet", action="store_true", help="no progress bars")
    robust.set_defaults(func=cmd_robustness)
    book = commands.add_parser("book", help="train or load the population, execute the notebooks, build the HTML")
    _add_population_options(book)
    _add_analysis_options(book)
    book.add_argument("--root", default=".", help="the repository (with notebooks/, book/, _config.yml); default .")
    book.add_argument("--output", help="build the book in this folder instead of the repository")
    book.add_argument("--no-train", action="store_true", help="only use models that are already trained")
    book.set_defaults(func=cmd_book)
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
