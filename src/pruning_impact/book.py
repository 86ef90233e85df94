"""The book: what its notebooks call to read a population's tables and show figures and tables with
numbered captions (``open_chapter``), and the runner that trains, analyses and evaluates robustness,
then executes the notebooks with papermill and builds the HTML with Jupyter Book (``build_book``).

Chapters never train or evaluate models: when models or robustness predictions are missing, they stop
with one message naming the parameter and the command that makes them. Tables derived from stored models
(the analysis of a smaller population, the robustness tables of a subset of evaluated models) are cheap
and made when missing, so that a chapter re-executed with other parameters just works. The runner is
the one place that trains and evaluates; it also writes the handouts without solutions
(``student_notebooks``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import store
from .analysis import run_analysis
from .errors import ParameterError, PruningImpactError
from .executor import ExecutorOptions, cpu_count
from .methods import BOOK_METHODS, comparison_size, run_comparison, train_variants, variant_settings
from .parameters import (
    ANALYSIS_PARAMETERS,
    PARAMETERS,
    POPULATION_PARAMETERS,
    PREFIX,
    ROBUSTNESS_OPTIONS,
    check_trained,
    read_parameters,
)
from .parameters import resolve as resolve_parameters
from .profiles import command_line, resolve_settings
from .provenance import machine, package_digest
from .settings import AnalysisOptions, RobustnessOptions, Settings, flag
from .simulation import BOOK_SIMULATIONS, run_calibration
from .simulation import calibration_folder as calibration_folder_of

DATASET_LABELS = {
    "fashion-mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "imagenet": "ImageNet",
    "synthetic": "a synthetic 12x12 task",
}
SPARSITY_COLUMNS = ("t", "sparsity", "sparsity t", "PIE_t identified at t")  # shown as percentages


class BookError(PruningImpactError):
    """A notebook failed to execute or the book failed to build."""


# ----------------------------------------------------------------------------- notebooks' side


BUILD_STAGES = (
    "train",
    "analysis",
    "robustness",
    "compression methods",
    "classroom population",
    "calibration",
)  # in the order ``build_book`` runs them


@dataclass
class Chapter:
    """What a notebook needs of a population: its settings, tables and a way to show results."""

    settings: Settings
    results_dir: Path
    analysis_options: AnalysisOptions
    robustness_options: RobustnessOptions
    tables: dict[str, pd.DataFrame]
    class_names: tuple[str, ...]
    num_test: int
    figures_dir: Path = field(default=Path(store.FIGURES_DIR))
    parameters: dict[str, Any] = field(default_factory=dict)  # the notebook's parameters that were set, read
    given: dict[str, Any] = field(default_factory=dict)  # the same as the notebook gave them (for with_parameters)

    def parameter(self, name: str) -> Any:
        """A notebook parameter as read and checked (its default when not set)."""
        return self.parameters.get(name, PARAMETERS[name].default)

    def with_parameters(self, **changes: Any) -> Chapter:
        """The same chapter with some parameters changed (what re-executing it with ``-p`` would show), for
        the exercises' solutions; tables are made from the stored models when missing."""
        return open_chapter({**self.given, **changes}, self.figures_dir)

    def comparison(self) -> tuple[tuple[str, ...], int, dict[str, pd.DataFrame]]:
        """The methods compared, K, and the comparison tables (``methods``), computed from the trained
        methods' populations when missing; a method not trained stops the notebook naming the command."""
        methods = tuple(self.parameter("methods") or BOOK_METHODS)
        k = comparison_size(self.settings, self.parameters.get("comparison_size"))
        if 2 * k > self.settings.population.size_at(0.0) or k > self.settings.population.population_size:
            raise ParameterError(
                f"notebook parameter comparison_size = {k}: the population has K = "
                f"{self.settings.population.population_size} and {self.settings.population.size_at(0.0)} dense "
                f"models; give at most {min(self.settings.population.population_size, self.settings.population.size_at(0.0) // 2)}"
            )
        for method in methods:
            variant = variant_settings(self.settings, method, k)
            if not fully_trained(self.results_dir, variant):
                command = compare_command(self.settings, self.results_dir, methods, k)
                raise ParameterError(f"notebook parameter methods: {method} is not trained at K = {k}; run: {command}")
        return methods, k, run_comparison(self.settings, self.results_dir, methods, k, self.analysis_options)[1]

    @property
    def smaller_k(self) -> int:
        """The smaller population size the exercises ask about: 4, or one fewer than K for a tiny K."""
        return 4 if self.k > 4 else max(1, min(self.k, max(2, self.k - 1)))

    @property
    def dataset(self) -> str:
        return DATASET_LABELS[self.settings.data.dataset]

    @property
    def k(self) -> int:
        return self.settings.population.population_size

    @property
    def k_dense(self) -> int:
        return self.settings.population.size_at(0.0)

    @property
    def k_reference(self) -> int:
        return self.settings.population.reference_size

    def robustness(self) -> dict[str, pd.DataFrame]:
        """The robustness tables of this population and options, from the predictions that ``pruning-impact
        robustness`` stored (an error naming that command when some are missing)."""
        from .robustness import stored_tables

        return stored_tables(self.settings, self.results_dir, self.robustness_options)

    def build_timings(self, setup_note: bool = True) -> tuple[str, pd.DataFrame] | None:
        """How long the latest build that trained models of this population took, as a sentence (date,
        machine, how many models it trained) and a table (minutes, and seconds per model where it trained or
        evaluated any); the latest build when none trained a model; None when no build recorded its times.
        ``setup_note``: say when the build's setup was not timed (a population trained beside another's has
        no setup of its own)."""
        records = store.read_timings(store.population_dir(self.results_dir, self.settings))
        if not records:
            return None
        trained = [r for r in records if r.get("models_trained")]
        record = (trained or records)[-1]
        cpu = record["machine"]
        # records written before the Ray executor name the worker processes only
        where = record.get("executor") or f"{record['workers']} worker process{'es' if record['workers'] != 1 else ''}"
        sentence = (
            f"{record['date']}, on {cpu['processor']} ({cpu['cores']} cores; instruction sets: "
            f"{', '.join(cpu['speed_flags']) or 'none listed'}), with {where}, training in "
            f"{record['precision']}; it trained "
            f"{record['models_trained']} of the population's {record['models']} models"
        )
        if setup_note and record.get("setup_seconds") is None:
            sentence += " (it was not started by `make book`, so its setup was not timed)"
        stages = record["stage_seconds"]
        counts = {"train": record["models_trained"], "robustness": record["models_evaluated"]}
        rows = [{"stage": "setup and data (before the book command)", "seconds": record.get("setup_seconds")}]
        rows += [{"stage": name, "seconds": stages[name]} for name in BUILD_STAGES if name in stages]
        for row in rows:
            row["minutes"] = None if row["seconds"] is None else row["seconds"] / 60
            models = counts.get(row["stage"]) or None
            row["models"] = models
            row["seconds per model"] = row["seconds"] / models if models else None
        total = sum(row["seconds"] or 0.0 for row in rows)
        rows.append({"stage": "total before the notebooks", "seconds": total, "minutes": total / 60})
        table = pd.DataFrame(rows, columns=["stage", "seconds", "minutes", "models", "seconds per model"])
        table["models"] = pd.Series([row.get("models") for row in rows], dtype=object)  # whole numbers, or "-"
        return sentence, table

    def glue(self, name: str, value: Any) -> None:
        """Glue a number or text for the prose ({glue:text}`name`); numpy scalars become Python ones."""
        glue(name, value)

    def glue_all(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.glue(name, value)

    def test_images(self, indices) -> np.ndarray:
        """Raw test images (uint8) of the population's dataset, for galleries."""
        from .data import load_dataset

        return load_dataset(self.settings.data).test_images(indices)

    def describe(self) -> str:
        """The sentence every caption ends with: profile, dataset and population sizes."""
        return (
            f"Profile `{self.settings.profile}`, {self.dataset}; K = {self.k} models per sparse level, "
            f"{self.k_dense} dense models (reference: {self.k_reference})."
        )

    def show_figure(self, fig, name: str, caption: str, width: str = "100%") -> None:
        """Save ``fig`` and display it as a numbered MyST figure labelled ``name``."""
        import matplotlib.pyplot as plt
        from IPython.display import Markdown, display

        path = store.figure_file(self.figures_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
        display(
            Markdown(
                f":::{{figure}} {path.as_posix()}\n:name: {name}\n:width: {width}\n\n{caption} {self.describe()}\n:::\n"
            )
        )

    def show_table(self, table: pd.DataFrame, name: str, caption: str, digits: int = 4) -> None:
        """Display ``table`` as a numbered MyST table labelled ``name``."""
        show_table(table, name, f"{caption} {self.describe()}", digits)

    def attach(self, path: str | Path) -> str:
        """Copy a file into the chapter's figures folder, for a download link in the prose; return the path
        the prose links ({download}`text <path>`)."""
        target = self.figures_dir / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return target.as_posix()

    def show_note(self, text: str) -> None:
        """Display a line of Markdown (for a table or figure that does not apply to this population)."""
        from IPython.display import Markdown, display

        display(Markdown(text))


def markdown_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table; floats rounded to ``digits``, sparsities as percentages (10%), missing values as '-'."""

    def cell(value: Any, column: str) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            return "-"
        if column in SPARSITY_COLUMNS and isinstance(value, (float, int)):
            return store.format_percent(value)
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value).replace("|", "/")

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = [
        "| " + " | ".join(cell(v, c) for v, c in zip(row, table.columns)) + " |"
        for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def glue(name: str, value: Any) -> None:
    """Glue a number or text for the prose ({glue:text}`name`); numpy scalars become Python ones."""
    from myst_nb import glue as myst_glue

    myst_glue(name, value.item() if hasattr(value, "item") else value, display=False)


def show_table(table: pd.DataFrame, name: str, caption: str, digits: int = 4) -> None:
    """Display ``table`` as a numbered MyST table labelled ``name``."""
    from IPython.display import Markdown, display

    display(Markdown(f":::{{table}} {caption}\n:name: {name}\n\n{markdown_table(table, digits)}\n:::\n"))


def open_chapter(namespace: Mapping[str, Any], figures_dir: str | Path = store.FIGURES_DIR) -> Chapter:
    """What every chapter calls first: read and check the notebook's parameters (its ``vars()``; see
    ``parameters``), then its population's analysis tables.

    Models are never trained here: parameters asking for models that do not exist stop the notebook with
    one message naming the parameter and the command that trains them. Tables derived from trained models
    (the analysis of a smaller population, say) are made when missing, which takes seconds.
    """
    given = read_parameters(namespace)
    profile, results_dir, population, analysis, robustness = resolve_parameters(given)
    settings = resolve_settings(profile, **population)
    check_trained(results_dir, settings, given)
    _, tables = run_analysis(results_dir, settings, analysis)
    info = store.read_population_info(store.population_dir(results_dir, settings))
    return Chapter(
        settings,
        results_dir,
        analysis,
        robustness,
        tables,
        tuple(info["class_names"]),
        int(info["num_test"]),
        Path(figures_dir),
        given,
        {name: namespace[name] for name in PARAMETERS if name in namespace},
    )


# ----------------------------------------------------------------------------- the runner


def notebook_parameters(
    overrides: dict[str, Any], analysis: AnalysisOptions, robustness: RobustnessOptions, **others: Any
) -> dict[str, Any]:
    """What the runner passes to the notebooks, in their names: the population overrides, every option
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


def relative_path(path: str | Path, start: Path) -> str:
    """``path`` as the notebooks, which run in ``start``, reach it: relative where it can be (a reader can reuse
    it), absolute otherwise (another drive)."""
    try:
        return os.path.relpath(Path(path).resolve(), start.resolve())
    except ValueError:
        return str(Path(path).resolve())


def fold_injected_parameters(path: Path) -> None:
    """Fold the cell papermill injected (the parameters this build passed) behind a toggle in the book."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            tags.append("hide-input")
    nbformat.write(notebook, path)


def execute_notebook(source: Path, output: Path, parameters: dict[str, Any], inputs_digest: str) -> bool:
    """Execute a jupytext notebook with papermill into ``output``, passing the ``parameters`` its parameters
    cell declares; skipped (False) when the output was made from the same source, parameters, package
    code and tables."""
    import jupytext
    import papermill

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    staging = store.staged_notebook(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, staging)
    try:
        declared = papermill.inspect_notebook(str(staging))
        passed = {name: value for name, value in parameters.items() if name in declared}
        stamp_path = store.notebook_stamp(output)
        stamp = hashlib.sha256(
            json.dumps(
                {"source": source.read_text(), "parameters": passed, "inputs": inputs_digest}, sort_keys=True
            ).encode()
        ).hexdigest()
        if output.is_file() and stamp_path.is_file() and json.loads(stamp_path.read_text()).get("stamp") == stamp:
            return False
        papermill.execute_notebook(
            str(staging),
            str(output),
            parameters=passed,
            cwd=str(output.parent),
            kernel_name="python3",
            progress_bar=True,
            log_output=False,
        )
        fold_injected_parameters(output)
    except papermill.PapermillExecutionError as exc:
        output.unlink(missing_ok=True)  # never leave a book with a silently broken chapter
        raise BookError(f"notebook {source.name} failed: {exc.ename}: {exc.evalue}") from None
    finally:
        staging.unlink(missing_ok=True)
    store.save_json(stamp_path, {"stamp": stamp})
    return True


def compare_command(settings: Settings, results_dir: Path, methods: tuple[str, ...], k: int) -> str:
    """The command that trains the methods' populations beside ``settings``' and compares them."""
    return f"{command_line('compare', settings, results_dir)} --methods {' '.join(methods)} --comparison-k {k}"


def fully_trained(results_dir: Path, settings: Settings) -> bool:
    """Whether every model of the population is trained."""
    counts = store.trained_counts(store.population_dir(results_dir, settings), settings)
    return all(done >= wanted for done, wanted in counts.values())


def record_build(
    results_dir: Path,
    settings: Settings,
    where: str,
    trained: int,
    evaluated: int,
    setup: float | None,
    stages: dict[str, float],
) -> None:
    """Add a build's times to the population's timings record (read by ``Chapter.build_timings``)."""
    from .train import training_precision

    store.append_timings(
        store.population_dir(results_dir, settings),
        {
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine(),
            "executor": where,
            "precision": training_precision(settings),
            "models": sum(settings.population.size_at(s) for s in settings.population.levels),
            "models_trained": trained,
            "models_evaluated": evaluated,
            "setup_seconds": setup,
            "stage_seconds": stages,
        },
    )


SOLUTION_TAG = "solution"  # cells that hold or compute an exercise's solution
LESSON_NOTEBOOKS = ("02_class_impact", "03_pie")  # what students re-execute on the classroom population
READS_NOTEBOOK_TIMES = ("06_teaching",)  # chapters that show how long the others took to execute


def rehearse_lessons(
    root: Path, results_dir: Path, classroom: Settings, inputs_digest: str, progress: bool = True
) -> None:
    """Execute the chapters that students re-execute in a lesson on the classroom population, as they would
    (papermill, only the profile changed), and record how long each took: the teaching chapter's lesson
    plan reports these times. Skipped, like the chapters, when nothing they depend on changed."""
    pop_dir = store.population_dir(results_dir, classroom)
    for name in LESSON_NOTEBOOKS:
        source = root / store.NOTEBOOKS_DIR / f"{name}.py"
        if not source.is_file():  # a repository without that chapter
            continue
        output = store.lesson_notebook(pop_dir, name)
        parameters = {
            "profile": classroom.profile,
            "results_dir": relative_path(results_dir, output.parent),
            "data_dir": relative_path(classroom.data.data_dir, output.parent),
        }
        if progress:
            print(f"Executing {name} on the {classroom.profile} population, as in a lesson -> {output}", flush=True)
        clock = time.perf_counter()
        if execute_notebook(source, output, parameters, inputs_digest):
            store.record_notebook_time(pop_dir, name, round(time.perf_counter() - clock, 1), machine())


def student_notebooks(root: str | Path, out: str | Path) -> list[Path]:
    """Write each notebook of ``root`` as an ``.ipynb`` without its solutions (the cells tagged ``solution``)
    into ``out``, for students; a solution left outside such a cell is an error, not a leak."""
    import jupytext

    out = store.check_writable(Path(out), "student notebooks")
    written = []
    for source in store.notebook_sources(Path(root)):
        notebook = jupytext.read(source)
        notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
        left = [i for i, cell in enumerate(notebook.cells) if "{solution}" in cell.source]
        if left:
            raise BookError(f"{source.name}: cells {left} hold a solution block but are not tagged {SOLUTION_TAG}")
        notebook.metadata.pop("jupytext", None)  # a handed-out copy is not paired with the .py
        path = out / source.with_suffix(".ipynb").name
        jupytext.write(notebook, path)
        written.append(path)
    if not written:
        raise BookError(f"no notebooks in {Path(root) / store.NOTEBOOKS_DIR}: pass --root, the repository's folder")
    return written


def assemble(root: Path, book_root: Path) -> None:
    """Copy the book's configuration, prose and the files it includes into ``book_root`` (when building
    outside the repository)."""
    if book_root.resolve() == root.resolve():
        return
    (book_root / store.BOOK_DIR).mkdir(parents=True, exist_ok=True)
    for name in store.BOOK_CONFIG_FILES:
        shutil.copy2(root / name, book_root / name)
    for path in (root / store.BOOK_DIR).iterdir():
        if path.suffix in store.BOOK_SOURCE_SUFFIXES:
            shutil.copy2(path, book_root / store.BOOK_DIR / path.name)
    for name in store.BOOK_INCLUDED_FILES:
        (book_root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, book_root / name)


def build_book(
    profile: str,
    root: str | Path = ".",
    book_root: str | Path | None = None,
    results_dir: str | Path = "results",
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
    """Train (or load) the population, analyse it, evaluate its robustness, calibrate the verdict rules on
    ``calibration_simulations`` simulated populations per scenario, execute every notebook into
    ``<book_root>/book`` and build the HTML into ``<book_root>/_build/html``; return its index page.

    ``overrides`` are ``resolve_settings``'s (population sizes, sparsities, seed, data_dir, device).
    ``executor``: where models are trained and evaluated (by default, side by side in one process per core
    of this machine's CPU; or on a Ray cluster).
    ``classroom_profile``: the population the instructors' chapter trains live, trained and analysed here
    too (the profile itself when they are the same).
    Output and results folders are checked before anything long starts. Each stage's time is added to the
    population's timings record (``started``, the Unix time at which a surrounding job such as ``make
    book`` began, gives the time spent before this function: setting up and getting the data).
    """
    entered = time.time()
    root = Path(root).resolve()
    book_root = Path(book_root).resolve() if book_root else root
    overrides = dict(overrides or {})
    # notebooks run in the book's folder: they reach the data and results folders from there
    notebooks_dir = book_root / store.BOOK_DIR
    data_dir = overrides.get("data_dir") or resolve_settings(profile).data.data_dir
    overrides["data_dir"] = str(Path(data_dir).resolve())  # the runner's own settings: from here
    settings = resolve_settings(profile, **overrides)
    parameters = notebook_parameters(
        {**overrides, "data_dir": relative_path(data_dir, notebooks_dir)},
        analysis,
        robustness,
        profile=profile,
        results_dir=relative_path(results_dir, notebooks_dir),
        calibration_simulations=None if calibration_simulations == BOOK_SIMULATIONS else calibration_simulations,
        classroom_profile=classroom_profile,
    )
    sources = store.notebook_sources(root)
    if not sources:
        raise BookError(f"no notebooks in {root / store.NOTEBOOKS_DIR}: pass --root, the repository's folder")
    store.check_writable(book_root / store.BOOK_DIR, "book")
    results_dir = store.check_writable(Path(results_dir).resolve(), "results")
    from .population import open_executor, train_population
    from .robustness import evaluate_population, pending_runs, tables_folder

    classroom = resolve_settings(classroom_profile)  # as the teaching chapter opens it: the profile's own
    comparison_k = comparison_size(settings)
    variants = [variant_settings(settings, method, comparison_k) for method in BOOK_METHODS]
    untrained = [v.population.method for v in variants if not fully_trained(results_dir, v)]
    if not train and untrained:
        raise BookError(
            f"the methods chapter needs populations of {', '.join(untrained)}, not trained, and --no-train was "
            f"given: make them (a minute on a CPU for the default profile) with "
            f"{compare_command(settings, results_dir, BOOK_METHODS, comparison_k)}"
        )
    if not train and not fully_trained(results_dir, classroom):
        raise BookError(
            f"the teaching chapter needs the {classroom_profile} population, which is not trained, and --no-train "
            f"was given: train it (a minute on a CPU) with pruning-impact train --profile {classroom_profile} "
            f"--results {results_dir}, or pass --classroom-profile with a trained profile"
        )
    stages, clock = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        stages[name] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    trained = 0
    with open_executor(executor, settings) as runner:  # one executor (on Ray: one connection) for both stages
        where = runner.describe()
        if train:
            trained = train_population(settings, results_dir, progress=progress, executor=runner).trained
        lap("train")
        folder, _ = run_analysis(results_dir, settings, analysis, progress=progress)
        lap("analysis")
        evaluating = len(pending_runs(settings, results_dir, robustness))
        evaluate_population(settings, results_dir, robustness, progress=progress, executor=runner)
        lap("robustness")
        if train:
            train_variants(settings, results_dir, BOOK_METHODS, comparison_k, progress, runner)
        methods_folder, _ = run_comparison(settings, results_dir, BOOK_METHODS, comparison_k, analysis, progress)
        lap("compression methods")
        if classroom_profile != profile:
            classroom_clock = time.perf_counter()
            taught = (
                train_population(classroom, results_dir, progress=progress, executor=runner).trained if train else 0
            )
            classroom_seconds = {"train": round(time.perf_counter() - classroom_clock, 1)}
            run_analysis(results_dir, classroom, progress=progress)
            classroom_seconds["analysis"] = round(time.perf_counter() - classroom_clock - classroom_seconds["train"], 1)
            record_build(results_dir, classroom, where, taught, 0, None, classroom_seconds)
            lap("classroom population")
        classroom_folder, _ = run_analysis(results_dir, classroom)  # what the teaching chapter reads
    pop_dir = store.population_dir(results_dir, settings)
    robustness_folder = tables_folder(settings, results_dir, robustness)
    run_calibration(results_dir, calibration_simulations, workers=cpu_count(), progress=progress)
    lap("calibration")
    calibration_folder, _ = calibration_folder_of(results_dir, calibration_simulations)
    record_build(
        results_dir, settings, where, trained, evaluating, round(entered - started, 1) if started else None, stages
    )
    inputs_digest = hashlib.sha256(
        store.fingerprint([folder, robustness_folder, calibration_folder, classroom_folder, methods_folder]).encode()
        + package_digest().encode()
    ).hexdigest()
    assemble(root, book_root)
    classroom_digest = hashlib.sha256(store.fingerprint([classroom_folder]).encode() + package_digest().encode())
    rehearse_lessons(root, results_dir, classroom, classroom_digest.hexdigest(), progress)
    for source in sources:
        output = store.executed_notebook(book_root, source)
        if progress:
            print(f"Executing {source.name} -> {output}", flush=True)
        clock = time.perf_counter()
        inputs = inputs_digest
        if source.stem in READS_NOTEBOOK_TIMES:  # executed again when a chapter or a lesson ran since
            times = [store.read_notebook_times(store.population_dir(results_dir, s)) for s in (settings, classroom)]
            inputs = hashlib.sha256((inputs_digest + json.dumps(times, sort_keys=True)).encode()).hexdigest()
        ran = execute_notebook(source, output, parameters, inputs)
        if ran:
            store.record_notebook_time(pop_dir, source.stem, round(time.perf_counter() - clock, 1), machine())
        elif progress:
            print("  unchanged; kept", flush=True)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book_root), "-W", "-n", "--keep-going"]
    if progress:
        print("Building the HTML: " + " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise BookError(f"jupyter-book build failed:\n{tail}")
    return store.html_index(book_root)
