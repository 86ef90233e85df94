"""What every chapter calls first, ``open_chapter(vars())``: the notebook's parameters read and checked, its
population's analysis tables, and a ``Chapter`` that shows figures and tables with numbered captions.

Chapters never train or evaluate models: when models or robustness predictions are missing, they stop
with one message naming the parameter and the command that makes them. Tables derived from stored models
(the analysis of a smaller population, the robustness tables of a subset of evaluated models, the
comparison of trained methods) are cheap and made when missing, so that a chapter re-executed with other
parameters just works.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pruning_impact.analysis.method_comparison import run_comparison
from pruning_impact.analysis.run import run_analysis
from pruning_impact.book import paths
from pruning_impact.book.display import glue, show_folded_table, show_table
from pruning_impact.book.parameters import PARAMETERS, check_trained, read_parameters
from pruning_impact.book.parameters import resolve as resolve_parameters
from pruning_impact.foundations import store
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.errors import ParameterError
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import resolve_settings
from pruning_impact.foundations.settings import Settings
from pruning_impact.training.variants import (
    BOOK_METHODS,
    compare_command,
    comparison_problem,
    comparison_size,
    largest_comparison,
    variant_settings,
)

DATASET_LABELS = {
    "fashion-mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "imagenet": "ImageNet",
    "synthetic": "a synthetic 12x12 task",
}
ARCHITECTURE_LABELS = {"small-cnn": "a small CNN", "wrn": "a Wide ResNet", "resnet50": "ResNet-50"}


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
    figures_dir: Path = field(default=Path(paths.FIGURES_DIR))
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
        """The methods compared, K, and the comparison tables (``method_comparison``), computed from the trained
        methods' populations when missing; a method not trained stops the notebook naming the command."""
        methods = tuple(self.parameter("methods") or BOOK_METHODS)
        k = comparison_size(self.settings, self.parameters.get("comparison_size"))
        problem = comparison_problem(self.settings, k)
        if problem:
            raise ParameterError(
                f"notebook parameter comparison_size = {k}: {problem}; give at most {largest_comparison(self.settings)}"
            )
        for method in methods:
            variant = variant_settings(self.settings, method, k)
            if not store.fully_trained(self.results_dir, variant):
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
    def architecture(self) -> str:
        return ARCHITECTURE_LABELS[self.settings.model.arch]

    @property
    def k(self) -> int:
        return self.settings.population.population_size

    @property
    def k_dense(self) -> int:
        return self.settings.population.size_at(0.0)

    @property
    def k_reference(self) -> int:
        return self.settings.population.reference_size

    @property
    def dense_split(self) -> DenseSplit:
        """What each dense model is for (reference, partners, floor pool, held out)."""
        return self.settings.population.dense_split

    def robustness(self) -> dict[str, pd.DataFrame]:
        """The robustness tables of this population and options, from the predictions that ``pruning-impact
        robustness`` stored (an error naming that command when some are missing)."""
        from pruning_impact.robustness.evaluation import stored_tables  # torch: only for the chapters that need it

        return stored_tables(self.settings, self.results_dir, self.robustness_options)

    def glue(self, name: str, value: Any) -> None:
        """Glue a number or text for the prose ({glue:text}`name`); numpy scalars become Python ones."""
        glue(name, value)

    def glue_all(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.glue(name, value)

    def describe(self) -> str:
        """The sentence every caption ends with: profile, dataset and population sizes."""
        return (
            f"Profile `{self.settings.profile}`, {self.dataset}, {self.architecture}; K = {self.k} models per sparse level, "
            f"{self.k_dense} dense models (reference: {self.k_reference})."
        )

    def show_figure(self, fig, name: str, caption: str, width: str = "100%") -> None:
        """Save ``fig`` and display it as a numbered MyST figure labelled ``name``."""
        import matplotlib.pyplot as plt
        from IPython.display import Markdown, display

        path = paths.figure_file(self.figures_dir, name)
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

    def show_folded_table(self, table: pd.DataFrame, name: str, caption: str, title: str, digits: int = 4) -> None:
        """``show_table`` folded behind a dropdown titled ``title``."""
        show_folded_table(table, name, f"{caption} {self.describe()}", title, digits)

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


def open_chapter(namespace: Mapping[str, Any], figures_dir: str | Path = paths.FIGURES_DIR) -> Chapter:
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
