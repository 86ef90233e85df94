"""The build behind ``make book``: the one place that trains and evaluates. It runs the build's stages in
order (``STAGES``: train, analysis, robustness, compression methods, classroom population, calibration),
each timed into the population's build record, then executes every notebook into the book and builds the
HTML with Jupyter Book.

A stage skips what is already finished (trained runs, fresh tables), so a second build with nothing
changed takes seconds; folders are checked before anything long starts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pruning_impact.analysis.method_comparison import run_comparison
from pruning_impact.analysis.run import run_analysis
from pruning_impact.book import paths
from pruning_impact.book.build_record import BUILD_STAGES, record_build
from pruning_impact.book.notebooks import (
    READS_NOTEBOOK_TIMES,
    assemble,
    execute_notebook,
    rehearse_lessons,
    relative_path,
)
from pruning_impact.book.parameters import (
    ANALYSIS_PARAMETERS,
    PARAMETERS,
    POPULATION_PARAMETERS,
    PREFIX,
    ROBUSTNESS_OPTIONS,
)
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.described import flag
from pruning_impact.foundations.errors import BookError
from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.machine import cpu_count, machine
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import resolve_settings
from pruning_impact.foundations.provenance import package_digest
from pruning_impact.foundations.settings import Settings
from pruning_impact.training.variants import (
    BOOK_METHODS,
    compare_command,
    comparison_size,
    train_variants,
    variant_settings,
)
from pruning_impact.verdicts.calibration import (
    BOOK_SIMULATIONS,
    VALIDATION_SEED,
    calibration_folder,
    fit_for_population,
    run_calibration,
)
from pruning_impact.verdicts.stability import run_stability, stability_folder

logger = logging.getLogger(__name__)


@dataclass
class Build:
    """One build of the book: what it was asked for, and what its stages made so far."""

    settings: Settings
    classroom: Settings
    results_dir: Path
    train: bool
    progress: bool
    analysis: AnalysisOptions
    robustness: RobustnessOptions
    calibration_simulations: int
    runner: Any = None  # the open executor, for the stages that train or evaluate
    trained: int = 0  # models this build trained
    evaluated: int = 0  # models whose robustness this build evaluated
    tables: dict[str, Path] = field(default_factory=dict)  # the folders of tables the chapters read, by stage

    @property
    def comparison_k(self) -> int:
        return comparison_size(self.settings)

    @property
    def separate_classroom(self) -> bool:
        """Whether the teaching chapter's population is another than the book's."""
        return self.classroom.profile != self.settings.profile


def train_stage(build: Build) -> None:
    from pruning_impact.training.population import train_population

    if build.train:
        build.trained = train_population(build.settings, build.results_dir, build.progress, build.runner).trained


def analysis_stage(build: Build) -> None:
    build.tables["analysis"] = run_analysis(build.results_dir, build.settings, build.analysis, build.progress)[0]


def robustness_stage(build: Build) -> None:
    from pruning_impact.robustness.evaluation import evaluate_population, pending_runs, tables_folder

    settings, results_dir, options = build.settings, build.results_dir, build.robustness
    build.evaluated = len(pending_runs(settings, results_dir, options))
    evaluate_population(settings, results_dir, options, progress=build.progress, executor=build.runner)
    build.tables["robustness"] = tables_folder(settings, results_dir, options)


def methods_stage(build: Build) -> None:
    k = build.comparison_k
    if build.train:
        train_variants(build.settings, build.results_dir, BOOK_METHODS, k, build.progress, build.runner)
    folder, _ = run_comparison(build.settings, build.results_dir, BOOK_METHODS, k, build.analysis, build.progress)
    build.tables["methods"] = folder


def classroom_stage(build: Build) -> bool:
    """Train and analyse the teaching chapter's population (its own timings recorded with it); False when it
    is the book's own population, which the other stages made."""
    if build.separate_classroom:
        from pruning_impact.training.population import train_population

        clock = time.perf_counter()
        taught = 0
        if build.train:
            taught = train_population(build.classroom, build.results_dir, build.progress, build.runner).trained
        seconds = {"train": round(time.perf_counter() - clock, 1)}
        run_analysis(build.results_dir, build.classroom, progress=build.progress)
        seconds["analysis"] = round(time.perf_counter() - clock - seconds["train"], 1)
        record_build(build.results_dir, build.classroom, build.runner.describe(), taught, 0, None, seconds)
    build.tables["classroom"] = run_analysis(build.results_dir, build.classroom)[0]  # what the chapter reads
    return build.separate_classroom


def calibration_stage(build: Build) -> None:
    """The verdict rules' error rates on populations simulated like the book's own (fitted to it)."""
    fit = fit_for_population(build.results_dir, build.settings, build.analysis)
    sims = build.calibration_simulations
    run_calibration(build.results_dir, fit, sims, workers=cpu_count(), progress=build.progress)
    build.tables["calibration"] = calibration_folder(build.results_dir, fit, sims, VALIDATION_SEED)[0]


def stability_stage(build: Build) -> None:
    from pruning_impact.robustness.evaluation import stored_tables

    robustness = stored_tables(build.settings, build.results_dir, build.robustness)
    run_stability(
        build.results_dir, build.settings, build.analysis, robustness, workers=cpu_count(), progress=build.progress
    )
    build.tables["stability"] = stability_folder(build.tables["analysis"], robustness)[0]


# The stages in the order they run, named as the build-time table names them; a stage that returns False did
# nothing of its own and is not timed. All but the last run with the executor open.
STAGES: dict[str, Callable[[Build], bool | None]] = dict(
    zip(
        BUILD_STAGES,
        (
            train_stage,
            analysis_stage,
            robustness_stage,
            methods_stage,
            classroom_stage,
            calibration_stage,
            stability_stage,
        ),
        strict=True,
    )
)
AFTER_THE_EXECUTOR = ("calibration", "verdict stability")


def notebook_parameters(
    overrides: dict[str, Any], analysis: AnalysisOptions, robustness: RobustnessOptions, **others: Any
) -> dict[str, Any]:
    """What the build passes to the notebooks, in their names: the population overrides, every option
    changed from its default (None as "none": None means "not set" in a notebook) and the ``others`` (paths,
    the calibration's size, the classroom profile) where they differ from the notebooks' defaults."""
    unknown = [flag(AnalysisOptions, name) for name in analysis.non_default() if name not in ANALYSIS_PARAMETERS]
    unknown += [flag(RobustnessOptions, name) for name in robustness.non_default() if name not in ROBUSTNESS_OPTIONS]
    if unknown:
        raise BookError(
            f"the book's notebooks take no option {', '.join(unknown)}; look at such results with "
            "pruning-impact analyze or pruning-impact robustness"
        )
    parameters = {name: value for name, value in overrides.items() if name in POPULATION_PARAMETERS}
    parameters.update(analysis.non_default())
    parameters.update({PREFIX + name: value for name, value in robustness.non_default().items()})
    parameters = {
        name: "none" if value is None else list(value) if isinstance(value, tuple) else value
        for name, value in parameters.items()
    }
    parameters.update({name: value for name, value in others.items() if value != PARAMETERS[name].default})
    return parameters


def check_comparison(settings: Settings) -> None:
    """Stop before any work when the methods chapter's comparison cannot be made with this population: a
    ``SettingsError`` saying why, and the largest K that can be compared."""
    for method in BOOK_METHODS:
        variant_settings(settings, method, comparison_size(settings))


def check_trained_for_no_train(build: Build) -> None:
    """With --no-train, stop before any work when a population the chapters need is not trained."""
    settings, results_dir, k = build.settings, build.results_dir, build.comparison_k
    untrained = [
        method for method in BOOK_METHODS if not store.fully_trained(results_dir, variant_settings(settings, method, k))
    ]
    if untrained:
        raise BookError(
            f"the methods chapter needs populations of {', '.join(untrained)}, not trained, and --no-train was "
            f"given: make them (a minute on a CPU for the default profile) with "
            f"{compare_command(settings, results_dir, BOOK_METHODS, k)}"
        )
    if not store.fully_trained(results_dir, build.classroom):
        classroom = build.classroom.profile
        raise BookError(
            f"the teaching chapter needs the {classroom} population, which is not trained, and --no-train "
            f"was given: train it (a minute on a CPU) with pruning-impact train --profile {classroom} "
            f"--results {results_dir}, or pass --classroom-profile with a trained profile"
        )


def run_stages(build: Build, executor: ExecutorOptions) -> tuple[str, dict[str, float]]:
    """Run every stage, timed; return where models ran and each stage's seconds."""
    from pruning_impact.training.population import open_executor

    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def timed(name: str) -> None:
        """Time a stage from the end of the one timed before it: the executor's start counts with the first
        stage, its end with the first after it, a stage that did nothing of its own with the next one."""
        nonlocal clock
        if STAGES[name](build) is not False:
            now = time.perf_counter()
            seconds[name], clock = round(now - clock, 1), now

    with open_executor(executor, build.settings) as runner:  # one executor (on Ray: one connection) for all
        build.runner, where = runner, runner.describe()
        for name in STAGES:
            if name not in AFTER_THE_EXECUTOR:
                timed(name)
    build.runner = None
    for name in AFTER_THE_EXECUTOR:
        timed(name)
    return where, seconds


def execute_chapters(build: Build, root: Path, book_root: Path, parameters: dict[str, Any]) -> None:
    """Rehearse the lessons, then execute every chapter into the book, each skipped when nothing it reads
    changed, and record how long the executed ones took."""
    results_dir, settings, classroom = build.results_dir, build.settings, build.classroom
    chapter_tables = [
        build.tables[name] for name in ("analysis", "robustness", "calibration", "stability", "classroom", "methods")
    ]
    inputs_digest = hashlib.sha256(folders.fingerprint(chapter_tables).encode() + package_digest().encode())
    classroom_digest = hashlib.sha256(
        folders.fingerprint([build.tables["classroom"]]).encode() + package_digest().encode()
    )
    rehearse_lessons(root, results_dir, classroom, classroom_digest.hexdigest(), build.progress)
    pop_dir = store.population_dir(results_dir, settings)
    for source in paths.notebook_sources(root):
        output = paths.executed_notebook(book_root, source)
        if build.progress:
            logger.info("Executing %s -> %s", source.name, output)
        clock = time.perf_counter()
        inputs = inputs_digest.hexdigest()
        if source.stem in READS_NOTEBOOK_TIMES:  # executed again when a chapter or a lesson ran since
            times = [store.read_notebook_times(store.population_dir(results_dir, s)) for s in (settings, classroom)]
            inputs = hashlib.sha256((inputs + json.dumps(times, sort_keys=True)).encode()).hexdigest()
        if execute_notebook(source, output, parameters, inputs):
            store.record_notebook_time(pop_dir, source.stem, round(time.perf_counter() - clock, 1), machine())
        elif build.progress:
            logger.info("  unchanged; kept")


def build_html(book_root: Path, progress: bool) -> Path:
    """Jupyter Book's HTML of the executed chapters (warnings are errors); its index page."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book_root), "-W", "-n", "--keep-going"]
    if progress:
        logger.info("Building the HTML: %s", " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise BookError(f"jupyter-book build failed:\n{tail}")
    return paths.html_index(book_root)


def build_book(
    profile: str,
    root: str | Path = ".",
    book_root: str | Path | None = None,
    results_dir: str | Path = store.DEFAULT_RESULTS,
    train: bool = True,
    progress: bool = True,
    overrides: dict[str, Any] | None = None,
    analysis: AnalysisOptions = AnalysisOptions(),
    robustness: RobustnessOptions = RobustnessOptions(),
    calibration_simulations: int = BOOK_SIMULATIONS,
    executor: ExecutorOptions = ExecutorOptions(),
    started: float | None = None,
    classroom_profile: str = "classroom",
) -> Path:
    """Train (or load) the population, analyse it, evaluate its robustness, compare compression methods, train
    the classroom population, calibrate the verdict rules on ``calibration_simulations`` simulated populations
    per scenario, execute every notebook into ``<book_root>/book`` and build the HTML into
    ``<book_root>/_build/html``; return its index page.

    ``overrides`` are ``resolve_settings``'s (population sizes, sparsities, seed, data_dir, device).
    ``executor``: where models are trained and evaluated (by default, side by side in one process per core
    of this machine's CPU; or on a Ray cluster).
    ``classroom_profile``: the population the instructors' chapter trains live, trained and analysed here
    too (the profile itself when they are the same).
    Each stage's time is added to the population's build record (``started``, the Unix time at which a
    surrounding job such as ``make book`` began, gives the time spent before this function: setting up and
    getting the data).
    """
    entered = time.time()
    root = Path(root).resolve()
    book_root = Path(book_root).resolve() if book_root else root
    overrides = dict(overrides or {})
    notebooks_dir = book_root / paths.BOOK_DIR  # notebooks run here and reach the data and results from here
    data_dir = overrides.get("data_dir") or resolve_settings(profile).data.data_dir
    overrides["data_dir"] = str(Path(data_dir).resolve())  # the build's own settings: from here
    parameters = notebook_parameters(
        {**overrides, "data_dir": relative_path(data_dir, notebooks_dir)},
        analysis,
        robustness,
        profile=profile,
        results_dir=relative_path(results_dir, notebooks_dir),
        calibration_simulations=None if calibration_simulations == BOOK_SIMULATIONS else calibration_simulations,
        classroom_profile=classroom_profile,
    )
    if not paths.notebook_sources(root):
        raise BookError(f"no notebooks in {root / paths.NOTEBOOKS_DIR}: pass --root, the repository's folder")
    settings = resolve_settings(profile, **overrides)  # a wrong override stops here, before any folder is made
    classroom = resolve_settings(classroom_profile)  # as the teaching chapter opens it: the profile's own
    check_comparison(settings)
    folders.check_writable(notebooks_dir, "book")
    build = Build(
        settings=settings,
        classroom=classroom,
        results_dir=folders.check_writable(Path(results_dir).resolve(), "results"),
        train=train,
        progress=progress,
        analysis=analysis,
        robustness=robustness,
        calibration_simulations=calibration_simulations,
    )
    if not train:
        check_trained_for_no_train(build)
    where, seconds = run_stages(build, executor)
    setup = round(entered - started, 1) if started else None
    record_build(build.results_dir, build.settings, where, build.trained, build.evaluated, setup, seconds)
    assemble(root, book_root)
    execute_chapters(build, root, book_root, parameters)
    return build_html(book_root, progress)
