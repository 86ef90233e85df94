"""Command line: ``pruning-impact train | status | analyze | robustness | compare | annotate | calibrate | book``
(also ``python -m pruning_impact``).

Flags are built from the settings and options dataclasses and their field descriptions, so a default
or a description lives in one place; every value goes through ``settings.convert``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_origin

from . import store
from .errors import PruningImpactError, SettingsError
from .executor import EXECUTORS, RAY_INSTALL, ExecutorOptions
from .profiles import DEFAULT_PROFILE, PROFILES, resolve_settings
from .settings import (
    AnalysisOptions,
    DataSettings,
    PopulationSettings,
    ResourceSettings,
    RobustnessOptions,
    Settings,
    TrainSettings,
    flag,
    type_hints,
)

DEFAULT_RESULTS = "results"
# the profile's settings a user may override from the command line (``resolve_settings``'s arguments)
OVERRIDES = (
    (PopulationSettings, "population_size"),
    (PopulationSettings, "dense_population_size"),
    (PopulationSettings, "sparsities"),
    (PopulationSettings, "seed"),
    (PopulationSettings, "method"),
    (DataSettings, "data_dir"),
    (TrainSettings, "device"),
)
# what a Ray task asks for: flags of the commands that train or evaluate models
RESOURCE_OVERRIDES = (
    (ResourceSettings, "cpus_per_task"),
    (ResourceSettings, "gpus_per_task"),
    (ResourceSettings, "max_retries"),
)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return "none" if value is None else str(value)


def _dest(cls: type, name: str) -> str:
    return flag(cls, name)[2:].replace("-", "_")


def _add_field(parser: argparse.ArgumentParser, cls: type, name: str, default_text: str) -> None:
    """A flag for one dataclass field: its description as help, a list for tuple fields; the value stays
    text here and is converted (and checked) when the dataclass is built."""
    spec = {f.name: f for f in fields(cls)}[name]
    hint = type_hints(cls)[name]
    is_list = get_origin(hint) is tuple or any(get_origin(a) is tuple for a in get_args(hint))
    choices = spec.metadata.get("choices")
    text = spec.metadata.get("help", "")
    if choices and not all(choice in text for choice in choices):
        text += f" Any of: {', '.join(choices)}." if is_list else f" One of: {', '.join(choices)}."
    parser.add_argument(
        flag(cls, name),
        dest=_dest(cls, name),
        nargs="+" if is_list else None,
        default=None,
        metavar="N" if {int, float} & {hint, *get_args(hint)} else name.split("_")[-1].upper(),
        help=f"{text} {default_text}",
    )


def _add_options(parser: argparse.ArgumentParser, cls: type, names: tuple[str, ...] | None = None) -> None:
    group = parser.add_argument_group(f"{cls.__name__}: {cls.__doc__.splitlines()[0].rstrip('.').lower()}")
    for spec in fields(cls):
        if names is None or spec.name in names:
            everything = spec.metadata.get("choices") is not None and spec.default == spec.metadata["choices"]
            _add_field(
                group, cls, spec.name, "(default: all of them)" if everything else f"(default: {_shown(spec.default)})"
            )


def _add_population_options(parser: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    parser.add_argument(
        "--profile", default=DEFAULT_PROFILE, help=f"named settings ({', '.join(PROFILES)}); default {DEFAULT_PROFILE}"
    )
    parser.add_argument("--results", default=DEFAULT_RESULTS, help=f"results folder (default: {DEFAULT_RESULTS})")
    for cls, name in OVERRIDES:
        if name not in leave_out:
            _add_field(parser, cls, name, "(default: the profile's)")


def _add_executor(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where models are trained and evaluated")
    group.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this machine; ray: tasks on a Ray cluster, each asking for --cpus-per-task CPUs and "
        f"--gpus-per-task GPUs (needs {RAY_INSTALL}) (default: local)",
    )
    group.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="local: processes that train or evaluate models side by side, one model each (default: one per core "
        "on a CPU, one on a GPU)",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        help="ray: the cluster to use, auto (the one this node joined with ray start) or HOST:PORT (default: "
        "RAY_ADDRESS if set, else a Ray instance started on this machine for this command)",
    )
    for cls, name in RESOURCE_OVERRIDES:
        _add_field(group, cls, name, "(default: the profile's)")


def executor_from_args(args: argparse.Namespace) -> ExecutorOptions:
    return ExecutorOptions(kind=args.executor, workers=args.workers, ray_address=args.ray_address)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The overrides of the profile given on the command line."""
    given = {name: getattr(args, name, None) for _, name in OVERRIDES + RESOURCE_OVERRIDES}
    return {name: value for name, value in given.items() if value is not None}


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The profile's settings with the command line's overrides applied (and validated)."""
    return resolve_settings(args.profile, **overrides_from_args(args))


def options_from_args(args: argparse.Namespace, cls: type) -> Any:
    """An options dataclass from the flags given; the others keep their defaults."""
    given = {spec.name: getattr(args, _dest(cls, spec.name), None) for spec in fields(cls)}
    return cls(**{name: value for name, value in given.items() if value is not None})


def cmd_train(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    executor = executor_from_args(args)
    pop = settings.population
    print(
        f"Population {settings.name} ({pop.method}): levels {', '.join(store.format_level(s) for s in pop.levels)}; "
        f"K = {pop.population_size} (dense: {pop.size_at(0.0)}); results in {store.population_dir(args.results, settings)}"
    )
    from .population import train_population

    report = train_population(settings, args.results, progress=not args.quiet, executor=executor)
    print(f"Trained {report.trained} model(s), kept {report.skipped} finished one(s) in {report.seconds:.1f} s.")
    _print_status(settings, args.results)
    return 0


def _print_status(settings: Settings, results: str) -> None:
    from .population import population_status
    from .profiles import command_line

    rows = population_status(settings, results)
    print(f"{'sparsity':>8}  {'finished':>8}  {'expected':>8}  {'mean top-1':>10}")
    for row in rows:
        top1 = "-" if row["mean_top1"] is None else f"{row['mean_top1']:.4f}"
        print(f"{store.format_level(row['sparsity']):>8}  {row['finished']:>8}  {row['expected']:>8}  {top1:>10}")
    missing = sum(row["missing"] for row in rows)
    if missing:
        print(f"{missing} model(s) missing; train them with: {command_line('train', settings, results)}")


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(f"Population {settings.name} in {store.population_dir(args.results, settings)}")
    _print_status(settings, args.results)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import format_summary, run_analysis

    options = options_from_args(args, AnalysisOptions)
    settings = settings_from_args(args)
    folder, tables = run_analysis(args.results, settings, options, progress=True)
    pop = settings.population
    group = int(tables["pie_noise_floor"]["half_size"].iloc[0]) if len(tables["pie_noise_floor"]) else 0
    print(
        f"Class-level impact (Table 1) of {settings.name}: dense reference K = {pop.reference_size} of "
        f"{pop.size_at(0.0)} dense models, sparse K = {pop.population_size}; A/A chance: mean significant "
        f"classes between two disjoint groups of {group} dense models over {options.repeats} splits"
    )
    print(format_summary(tables["class_summary"], tables["aa_calibration"]))
    counts = tables["pie_counts"]
    floor = counts["noise_floor_mean"].iloc[0] if len(counts) else float("nan")
    print(
        f"PIEs per sparsity (dense-vs-dense noise floor: {floor:.1f}): "
        + ", ".join(f"{store.format_level(r.sparsity)}: {r.n_pie}" for r in counts.itertuples())
    )
    print(f"Tables in {folder}")
    return 0


def cmd_robustness(args: argparse.Namespace) -> int:
    from .robustness import evaluate_population, tables_folder
    from .robustness_tables import per_model_relative, table5

    settings = settings_from_args(args)
    options = options_from_args(args, RobustnessOptions)
    executor = executor_from_args(args)
    tables = evaluate_population(settings, args.results, options, progress=not args.quiet, executor=executor)
    relative = (
        per_model_relative(tables["corruption_accuracy"])
        .groupby("sparsity")["relative_top1"]
        .agg(["mean", "std", "count"])
    )
    print(
        "Top-1 under corruption relative to clean top-1 (mean over corruptions and severities; mean, std over "
        "K models):"
    )
    for sparsity, row in relative.iterrows():
        print(
            f"  t = {store.format_sparsity(sparsity)}: {row['mean']:.4f} +/- {row['std']:.4f} (K = {int(row['count'])})"
        )
    adversarial = tables["adversarial_accuracy"].groupby(["attack", "epsilon", "sparsity"])["top1"].mean().unstack()
    print("Top-1 under attack (mean over models):")
    print(adversarial.round(4).to_string())
    folder = tables_folder(settings, args.results, options)
    print(f"Tables in {folder}; Table 5 has {len(table5(tables['corruption_accuracy']))} rows")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .simulation import run_calibration, summary

    if args.simulations < 1 or args.workers < 1:
        raise SettingsError("--simulations and --workers must be >= 1")
    rates = run_calibration(args.results, args.simulations, args.seed, args.workers, progress=not args.quiet)
    print(rates.round(3).to_string(index=False))
    result = summary(rates)
    print(f"null_max={result['null_max']:.3f} planted_min={result['planted_min']:.3f}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import build_book

    settings_from_args(args)  # validates the overrides before anything runs
    executor = executor_from_args(args)
    if args.calibration_simulations < 1:
        raise SettingsError("--calibration-simulations must be >= 1")
    index = build_book(
        args.profile,
        root=args.root,
        book_root=args.output,
        results_dir=args.results,
        train=not args.no_train,
        overrides=overrides_from_args(args),
        analysis=options_from_args(args, AnalysisOptions),
        robustness=options_from_args(args, RobustnessOptions),
        calibration_simulations=args.calibration_simulations,
        executor=executor,
        started=args.started,
        classroom_profile=args.classroom_profile,
    )
    print(f"The book is built: open {index}")
    return 0


def cmd_student_notebooks(args: argparse.Namespace) -> int:
    from .book import student_notebooks

    written = student_notebooks(args.root, args.out)
    print(f"Wrote {len(written)} notebooks without solutions into {args.out}:")
    for path in written:
        print(f"  {path.name}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .methods import comparison_size, run_comparison, train_variants

    settings = settings_from_args(args)
    if settings.population.method != "magnitude":
        raise SettingsError("compare starts from the paper's population: leave --method out and name --methods")
    options = options_from_args(args, AnalysisOptions)
    k = comparison_size(settings, args.comparison_k)
    methods = tuple(args.methods)
    if not args.no_train:
        train_variants(settings, args.results, methods, k, not args.quiet, executor_from_args(args))
    folder, tables = run_comparison(settings, args.results, methods, k, options, progress=not args.quiet)
    columns = ["method", "level_name", "top1_mean", "n_significant_none", "n_cie", "cie_floor_p975", "cev", "sde"]
    columns += ["cev_floor_p975", "held_out_top1_cie", "held_out_top1_random", "vog_auc_cie"]
    print(f"Compression methods against {settings.name}'s dense reference, K = {k} models each:")
    print(tables["levels"][columns].round(4).to_string(index=False, line_width=200))
    print(f"Tables in {folder}")
    return 0


def cmd_annotate_export(args: argparse.Namespace) -> int:
    from .annotation import population_sheet

    overrides = overrides_from_args(args)
    if args.population_seed is not None:
        overrides["seed"] = args.population_seed
    settings = resolve_settings(args.profile, **overrides)
    sheet = population_sheet(args.results, settings, args.sparsity, args.n, args.sample_seed, args.out, args.key_out)
    level = store.format_percent(float(sheet.key_table["sparsity"].iloc[0]))
    pies = int(sheet.key_table["is_pie"].sum())
    print(
        f"Sheet {sheet.sheet_id}: {len(sheet.key_table)} test images of {settings.name} ({pies} PIEs and "
        f"{len(sheet.key_table) - pies} non-PIEs at {level}, shuffled; the page names neither)."
    )
    print(f"  for the annotators: {sheet.page} (open it in a browser; it works offline and keeps their progress)")
    print(f"  the key, not for the annotators: {sheet.key} (keep it, and the book's exemplar browser, from them)")
    print(f"Then: pruning-impact annotate import ANSWERS [MORE ...] --key {sheet.key}")
    return 0


def cmd_annotate_import(args: argparse.Namespace) -> int:
    from .annotation import agreement, import_answers, property_table

    joined = import_answers(args.answers, args.key)
    table = property_table(joined)
    agree = agreement(joined)
    annotators = sorted(joined["annotator"].unique())
    first = table.iloc[0]
    print(
        f"{len(annotators)} annotator(s) ({', '.join(annotators)}), {first['n_pie']} PIEs and {first['n_non_pie']} "
        "non-PIEs; an image has a property when most of its annotators say so:"
    )
    shown = table[["property", "share_pie", "low_pie", "high_pie", "share_non_pie", "low_non_pie", "high_non_pie"]]
    print(shown.assign(p_fisher=table["p_fisher"], p_holm=table["p_holm"]).round(4).to_string(index=False))
    if len(annotators) > 1:
        print("Agreement between annotators:")
        print(agree[["question", "all_agree", "fleiss_kappa", "cohen_kappa"]].round(3).to_string(index=False))
    if args.out:
        out = store.check_writable(Path(args.out), "annotation tables")
        for name, frame in (("answers", joined), ("properties", table), ("agreement", agree)):
            store.atomic_write_bytes(out / store.table_file(name), frame.to_csv(index=False).encode())
        print(f"Tables in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .methods import BOOK_COMPARISON_SIZE, BOOK_METHODS
    from .parameters import ANALYSIS_PARAMETERS, ROBUSTNESS_OPTIONS
    from .settings import METHODS
    from .simulation import BOOK_SIMULATIONS

    parser = argparse.ArgumentParser(prog="pruning-impact", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the population (finished models are skipped)")
    _add_population_options(train)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_executor(train)
    train.set_defaults(func=cmd_train)
    status = commands.add_parser("status", help="what is trained and what is missing, per sparsity")
    _add_population_options(status)
    status.set_defaults(func=cmd_status)
    analysis = commands.add_parser("analyze", help="class-level tests, PIEs and noise floors; writes CSV tables")
    _add_population_options(analysis)
    _add_options(analysis, AnalysisOptions)
    analysis.set_defaults(func=cmd_analyze)
    robust = commands.add_parser("robustness", help="evaluate every model on corrupted and adversarial test sets")
    _add_population_options(robust)
    _add_options(robust, RobustnessOptions)
    robust.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_executor(robust)
    robust.set_defaults(func=cmd_robustness)
    compare = commands.add_parser(
        "compare",
        help="train populations of other compression methods beside the profile's and compare them (CSV tables)",
    )
    _add_population_options(compare)
    compare.add_argument(
        "--methods",
        nargs="+",
        default=list(BOOK_METHODS),
        choices=[m for m in METHODS if m != "magnitude"],
        help=f"methods compared with magnitude pruning (default: {' '.join(BOOK_METHODS)})",
    )
    compare.add_argument(
        "--comparison-k",
        type=_positive_int,
        default=None,
        help=f"models per method, and of the dense reference (default: {BOOK_COMPARISON_SIZE}, or K if smaller)",
    )
    compare.add_argument("--no-train", action="store_true", help="only use models that are already trained")
    _add_options(compare, AnalysisOptions, ANALYSIS_PARAMETERS)
    compare.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_executor(compare)
    compare.set_defaults(func=cmd_compare)
    annotate = commands.add_parser(
        "annotate", help="a blinded annotation study of PIEs: export a sheet for annotators, import their answers"
    )
    steps = annotate.add_subparsers(dest="step", required=True)
    export = steps.add_parser(
        "export",
        help="write a balanced, shuffled sample of PIE and non-PIE test images as one offline HTML page, and its key",
    )
    _add_population_options(export, leave_out=("seed",))  # --seed is the sample's here, as the study asks
    export.add_argument(
        "--sparsity", type=float, default=None, help="the level whose PIEs are sampled (default: the top one)"
    )
    export.add_argument("--n", type=_positive_int, default=200, help="images, half PIEs and half not (default: 200)")
    export.add_argument(
        "--seed",
        dest="sample_seed",
        type=int,
        default=0,
        help="which images are drawn, and their order (default: 0); the population is the profile's own seed",
    )
    export.add_argument(
        "--population-seed", type=int, default=None, help="base seed of the population (default: the profile's)"
    )
    export.add_argument("--out", required=True, help="folder for the sheet (and its key, unless --key-out)")
    export.add_argument(
        "--key-out", default=None, help="folder for the sheet's key, away from the sheet (default: --out)"
    )
    export.set_defaults(func=cmd_annotate_export)
    imports = steps.add_parser(
        "import", help="join annotators' answers with the key: property shares, Fisher's exact tests, agreement"
    )
    imports.add_argument("answers", nargs="+", help="the CSV files the sheet downloaded, one per annotator")
    imports.add_argument("--key", required=True, help="the key file written with the sheet")
    imports.add_argument("--out", help="also write the joined answers and the tables as CSV into this folder")
    imports.set_defaults(func=cmd_annotate_import)
    calibrate = commands.add_parser(
        "calibrate", help="error rates of the verdict rules on simulated populations (cached in the results folder)"
    )
    calibrate.add_argument("--results", default="results", help="results folder (default: results)")
    calibrate.add_argument("--simulations", type=int, default=BOOK_SIMULATIONS, help="populations per scenario")
    calibrate.add_argument("--seed", type=int, default=0, help="seed of the simulations")
    calibrate.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress bars")
    calibrate.set_defaults(func=cmd_calibrate)
    book = commands.add_parser(
        "book",
        help="train or load the population, analyse it, evaluate its robustness, execute the notebooks, build the HTML",
    )
    _add_population_options(book)
    _add_options(book, AnalysisOptions, ANALYSIS_PARAMETERS)
    _add_options(book, RobustnessOptions, ROBUSTNESS_OPTIONS)
    book.add_argument("--root", default=".", help="the repository (with notebooks/, book/, _config.yml); default .")
    book.add_argument("--output", help="build the book in this folder instead of the repository")
    book.add_argument("--no-train", action="store_true", help="only use models that are already trained")
    book.add_argument(
        "--calibration-simulations",
        type=int,
        default=BOOK_SIMULATIONS,
        help=f"simulated populations per scenario behind the rules' error rates (default {BOOK_SIMULATIONS})",
    )
    book.add_argument(
        "--classroom-profile",
        default="classroom",
        choices=sorted(PROFILES),
        help="the population the instructors' chapter trains live, trained and analysed too (default classroom)",
    )
    _add_executor(book)
    book.add_argument(
        "--started",
        type=float,
        help="Unix time at which a surrounding job began (make book passes it): the book reports the time "
        "spent before this command, setting up and getting the data",
    )
    book.set_defaults(func=cmd_book)
    students = commands.add_parser(
        "student-notebooks", help="write the notebooks without their solutions, to hand out to students"
    )
    students.add_argument("--out", required=True, help="folder to write the .ipynb files into")
    students.add_argument("--root", default=".", help="the repository (with notebooks/); default .")
    students.set_defaults(func=cmd_student_notebooks)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PruningImpactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; run the same command again to continue", file=sys.stderr)
        return 130
