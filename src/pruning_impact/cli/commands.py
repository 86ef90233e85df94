"""What each command does: it resolves the settings from the flags, calls the stage and prints what came
out (the tables of the analysis as Table 1, the robustness summary, the comparison of methods)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pruning_impact.analysis.stats import calibration_summary
from pruning_impact.cli.flags import executor_from_args, options_from_args, overrides_from_args, settings_from_args
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import SettingsError
from pruning_impact.foundations.levels import format_level, format_percent, format_sparsity
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import resolve_settings
from pruning_impact.foundations.settings import Settings


def cmd_train(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    executor = executor_from_args(args)
    pop = settings.population
    print(
        f"Population {settings.name} ({pop.method}): levels {', '.join(format_level(s) for s in pop.levels)}; "
        f"K = {pop.population_size} (dense: {pop.size_at(0.0)}); results in {store.population_dir(args.results, settings)}"
    )
    from pruning_impact.training.population import train_population

    report = train_population(settings, args.results, progress=not args.quiet, executor=executor)
    print(f"Trained {report.trained} model(s), kept {report.skipped} finished one(s) in {report.seconds:.1f} s.")
    _print_status(settings, args.results)
    return 0


def _print_status(settings: Settings, results: str) -> None:
    from pruning_impact.foundations.profiles import command_line
    from pruning_impact.training.population import population_status

    rows = population_status(settings, results)
    print(f"{'sparsity':>8}  {'finished':>8}  {'expected':>8}  {'mean top-1':>10}")
    for row in rows:
        top1 = "-" if row["mean_top1"] is None else f"{row['mean_top1']:.4f}"
        print(f"{format_level(row['sparsity']):>8}  {row['finished']:>8}  {row['expected']:>8}  {top1:>10}")
    missing = sum(row["missing"] for row in rows)
    if missing:
        print(f"{missing} model(s) missing; train them with: {command_line('train', settings, results)}")


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(f"Population {settings.name} in {store.population_dir(args.results, settings)}")
    _print_status(settings, args.results)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from pruning_impact.analysis.run import run_analysis
    from pruning_impact.cli.commands import format_summary

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
        + ", ".join(f"{format_level(r.sparsity)}: {r.n_pie}" for r in counts.itertuples())
    )
    print(f"Tables in {folder}")
    return 0


def cmd_robustness(args: argparse.Namespace) -> int:
    from pruning_impact.robustness.evaluation import evaluate_population, tables_folder
    from pruning_impact.robustness.tables import per_model_relative, table5

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
        print(f"  t = {format_sparsity(sparsity)}: {row['mean']:.4f} +/- {row['std']:.4f} (K = {int(row['count'])})")
    adversarial = tables["adversarial_accuracy"].groupby(["attack", "epsilon", "sparsity"])["top1"].mean().unstack()
    print("Top-1 under attack (mean over models):")
    print(adversarial.round(4).to_string())
    folder = tables_folder(settings, args.results, options)
    print(f"Tables in {folder}; Table 5 has {len(table5(tables['corruption_accuracy']))} rows")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from pruning_impact.verdicts.calibration import fit_for_population, run_calibration, summary

    if args.simulations < 1 or args.workers < 1:
        raise SettingsError("--simulations and --workers must be >= 1")
    settings = settings_with_population_seed(args)
    fit = fit_for_population(args.results, settings)
    rates = run_calibration(
        args.results, fit, args.simulations, args.simulation_seed, args.workers, progress=not args.quiet
    )
    print(rates.drop(columns="reason").round(3).to_string(index=False))
    result = summary(rates)
    for claim, why in result["not_counted"].items():
        print(f"claim {claim} not counted: {why}")
    print(f"null_max={result['null_max']:.3f} planted_min={result['planted_min']:.3f}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from pruning_impact.book.build import build_book

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
    from pruning_impact.book.notebooks import student_notebooks

    written = student_notebooks(args.root, args.out)
    print(f"Wrote {len(written)} notebooks without solutions into {args.out}:")
    for path in written:
        print(f"  {path.name}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from pruning_impact.analysis.method_comparison import run_comparison
    from pruning_impact.training.variants import comparison_size, train_variants

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


def settings_with_population_seed(args: argparse.Namespace) -> Settings:
    """The settings of a command whose --seed is its own (a sample's, the simulations'): the population's
    seed comes from --population-seed."""
    overrides = overrides_from_args(args)
    if args.population_seed is not None:
        overrides["seed"] = args.population_seed
    return resolve_settings(args.profile, **overrides)


def cmd_annotate_export(args: argparse.Namespace) -> int:
    from pruning_impact.study.stored_study import population_sheet

    settings = settings_with_population_seed(args)
    sheet = population_sheet(args.results, settings, args.sparsity, args.n, args.sample_seed, args.out, args.key_out)
    level = format_percent(float(sheet.key_table["sparsity"].iloc[0]))
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
    from pruning_impact.study.agreement import agreement, property_table
    from pruning_impact.study.answers import import_answers

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
        out = folders.check_writable(Path(args.out), "annotation tables")
        for name, frame in (("answers", joined), ("properties", table), ("agreement", agree)):
            folders.atomic_write_bytes(out / folders.table_file(name), frame.to_csv(index=False).encode())
        print(f"Tables in {out}")
    return 0


def format_summary(summary: pd.DataFrame, calibration: pd.DataFrame) -> str:
    """Table 1 as text: one line per sparsity and correction, with the A/A chance count beside it."""
    chance = calibration_summary(calibration).set_index("correction") if len(calibration) else None
    lines = [
        f"{'sparsity':>8} {'correction':>10} {'acc. diff':>9} {'#signif':>7} {'#incr':>5} {'#decr':>5} "
        f"{'A/A chance':>10}  largest increase / decrease"
    ]
    for _, row in summary.iterrows():
        aa = (
            "-"
            if chance is None or row["correction"] not in chance.index
            else f"{chance.loc[row['correction'], 'mean']:.1f}"
        )
        up = (
            "-"
            if pd.isna(row["largest_increase"])
            else f"{row['largest_increase_class']} {row['largest_increase']:+.4f}"
        )
        down = (
            "-"
            if pd.isna(row["largest_decrease"])
            else f"{row['largest_decrease_class']} {row['largest_decrease']:+.4f}"
        )
        lines.append(
            f"{format_level(row['sparsity']):>8} {row['correction']:>10} "
            f"{row['model_accuracy_difference']:>+9.4f} {row['n_significant']:>7} {row['n_increase']:>5} "
            f"{row['n_decrease']:>5} {aa:>10}  {up} / {down}"
        )
    return "\n".join(lines)
