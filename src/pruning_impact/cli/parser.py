"""Command line: ``pruning-impact train | status | analyze | robustness | compare | annotate | calibrate | book |
student-notebooks`` (also ``python -m pruning_impact``).

Flags are built from the settings and options dataclasses and their field descriptions (``flags``), so a
default or a description lives in one place; every value goes through ``described.convert``.
"""

from __future__ import annotations

import argparse
import os

from pruning_impact.cli.commands import (
    cmd_analyze,
    cmd_annotate_export,
    cmd_annotate_import,
    cmd_book,
    cmd_calibrate,
    cmd_compare,
    cmd_robustness,
    cmd_status,
    cmd_student_notebooks,
    cmd_train,
)
from pruning_impact.cli.flags import add_executor, add_options, add_population_options, positive_int
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import PROFILES


def add_population_commands(commands: argparse._SubParsersAction) -> None:
    """train, status, analyze, robustness: a population's stages, one command each."""
    train = commands.add_parser("train", help="train the population (finished models are skipped)")
    add_population_options(train)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    add_executor(train)
    train.set_defaults(func=cmd_train)
    status = commands.add_parser("status", help="what is trained and what is missing, per sparsity")
    add_population_options(status)
    status.set_defaults(func=cmd_status)
    analysis = commands.add_parser("analyze", help="class-level tests, PIEs and noise floors; writes CSV tables")
    add_population_options(analysis)
    add_options(analysis, AnalysisOptions)
    analysis.set_defaults(func=cmd_analyze)
    robust = commands.add_parser("robustness", help="evaluate every model on corrupted and adversarial test sets")
    add_population_options(robust)
    add_options(robust, RobustnessOptions)
    robust.add_argument("--quiet", action="store_true", help="no progress bars")
    add_executor(robust)
    robust.set_defaults(func=cmd_robustness)


def add_compare(commands: argparse._SubParsersAction) -> None:
    """compare: other compression methods' populations beside the paper's."""
    from pruning_impact.book.parameters import ANALYSIS_PARAMETERS
    from pruning_impact.foundations.settings import METHODS
    from pruning_impact.training.variants import BOOK_COMPARISON_SIZE, BOOK_METHODS

    compare = commands.add_parser(
        "compare",
        help="train populations of other compression methods beside the profile's and compare them (CSV tables)",
    )
    add_population_options(compare)
    compare.add_argument(
        "--methods",
        nargs="+",
        default=list(BOOK_METHODS),
        choices=[m for m in METHODS if m != "magnitude"],
        help=f"methods compared with magnitude pruning (default: {' '.join(BOOK_METHODS)})",
    )
    compare.add_argument(
        "--comparison-k",
        type=positive_int,
        default=None,
        help=f"models per method, and of the dense reference (default: {BOOK_COMPARISON_SIZE}, or K if smaller)",
    )
    compare.add_argument("--no-train", action="store_true", help="only use models that are already trained")
    add_options(compare, AnalysisOptions, ANALYSIS_PARAMETERS)
    compare.add_argument("--quiet", action="store_true", help="no progress bars")
    add_executor(compare)
    compare.set_defaults(func=cmd_compare)


def add_annotate(commands: argparse._SubParsersAction) -> None:
    """annotate export | import: the blinded annotation study."""
    annotate = commands.add_parser(
        "annotate", help="a blinded annotation study of PIEs: export a sheet for annotators, import their answers"
    )
    steps = annotate.add_subparsers(dest="step", required=True)
    export = steps.add_parser(
        "export",
        help="write a balanced, shuffled sample of PIE and non-PIE test images as one offline HTML page, and its key",
    )
    add_population_options(export, leave_out=("seed",))  # --seed is the sample's here, as the study asks
    export.add_argument(
        "--sparsity", type=float, default=None, help="the level whose PIEs are sampled (default: the top one)"
    )
    export.add_argument("--n", type=positive_int, default=200, help="images, half PIEs and half not (default: 200)")
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


def add_calibrate(commands: argparse._SubParsersAction) -> None:
    """calibrate: the verdict rules' error rates on simulated populations."""
    from pruning_impact.verdicts.calibration import BOOK_SIMULATIONS, VALIDATION_SEED

    calibrate = commands.add_parser(
        "calibrate",
        help="error rates of the verdict rules on populations simulated like a trained one (cached in the results "
        "folder)",
    )
    add_population_options(calibrate, leave_out=("seed",))  # --seed is the simulations' here
    calibrate.add_argument("--simulations", type=int, default=BOOK_SIMULATIONS, help="populations per scenario")
    calibrate.add_argument(
        "--seed",
        dest="simulation_seed",
        type=int,
        default=VALIDATION_SEED,
        help=f"seed of the simulations (default: {VALIDATION_SEED}, the validation the book shows; 0 tunes)",
    )
    calibrate.add_argument("--population-seed", type=int, default=None, help="base seed of the population")
    calibrate.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress bars")
    calibrate.set_defaults(func=cmd_calibrate)


def add_book(commands: argparse._SubParsersAction) -> None:
    """book and student-notebooks: the whole book, and the handouts without solutions."""
    from pruning_impact.book.parameters import ANALYSIS_PARAMETERS, ROBUSTNESS_OPTIONS
    from pruning_impact.verdicts.calibration import BOOK_SIMULATIONS

    book = commands.add_parser(
        "book",
        help="train or load the population, analyse it, evaluate its robustness, execute the notebooks, build the HTML",
    )
    add_population_options(book)
    add_options(book, AnalysisOptions, ANALYSIS_PARAMETERS)
    add_options(book, RobustnessOptions, ROBUSTNESS_OPTIONS)
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
    add_executor(book)
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
    students.add_argument("--out", required=True, help="folder to write the notebooks into (Jupyter's format)")
    students.add_argument("--root", default=".", help="the repository (with notebooks/); default .")
    students.set_defaults(func=cmd_student_notebooks)


def build_parser() -> argparse.ArgumentParser:
    """Every command with its flags (the settings' and options' descriptions are their help)."""
    parser = argparse.ArgumentParser(prog="pruning-impact", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (add_population_commands, add_compare, add_annotate, add_calibrate, add_book):
        add(commands)
    return parser
