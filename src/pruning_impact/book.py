"""The book: what its notebooks call to load a population's tables and show figures and tables with
numbered captions, and the runner that trains, analyses, evaluates robustness, executes the notebooks
with papermill and builds the HTML with Jupyter Book."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import store
from .analysis import AnalysisOptions, run_analysis
from .errors import PruningImpactError
from .population import train_population
from .robustness import RobustnessOptions, evaluate_population, read_robustness_tables
from .profiles import resolve_settings
from .settings import Settings

DATASET_LABELS = {"fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "imagenet": "ImageNet",
                  "synthetic": "a synthetic 12x12 task"}
BOOK_FILES = ("_config.yml", "_toc.yml")
BOOK_SOURCE_SUFFIXES = (".md", ".bib")
STAMP_SUFFIX = ".stamp.json"


class BookError(PruningImpactError):
    """A notebook failed to execute or the book failed to build."""


# ----------------------------------------------------------------------------- notebooks' side

@dataclass
class Chapter:
    """What a notebook needs of a population: its settings, tables and a way to show results."""

    settings: Settings
    results_dir: Path
    tables: dict[str, pd.DataFrame]
    class_names: tuple[str, ...]
    num_test: int
    figures_dir: Path = field(default=Path("figures"))

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

    def robustness(self, subsample: int | None = 2000, device: str | None = None) -> dict[str, pd.DataFrame]:
        """The robustness tables of this population (evaluated and cached on first use)."""
        settings = self.settings.replace(training={"device": device}) if device else self.settings
        folder = evaluate_population(settings, self.results_dir, RobustnessOptions(subsample=subsample), progress=False)
        return read_robustness_tables(folder)

    def glue(self, name: str, value: Any) -> None:
        """Glue a number or text for the prose ({glue:text}`name`); numpy scalars become Python ones."""
        from myst_nb import glue

        glue(name, value.item() if hasattr(value, "item") else value, display=False)

    def test_images(self, indices) -> "np.ndarray":
        """Raw test images (uint8) of the population's dataset, for galleries."""
        from .data import load_dataset
        return load_dataset(self.settings.data).test_images(indices)

    def describe(self) -> str:
        """The sentence every caption ends with: profile, dataset and population sizes."""
        return (f"Profile `{self.settings.profile}`, {self.dataset}; K = {self.k} models per sparse level, "
                f"{self.k_dense} dense models (reference: {self.k_reference}).")

    def show_figure(self, fig, name: str, caption: str, width: str = "100%") -> None:
        """Save ``fig`` and display it as a numbered MyST figure labelled ``name``."""
        from IPython.display import Markdown, display
        import matplotlib.pyplot as plt

        self.figures_dir.mkdir(parents=True, exist_ok=True)
        path = self.figures_dir / f"{name}.png"
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
        display(Markdown(f":::{{figure}} {path.as_posix()}\n:name: {name}\n:width: {width}\n\n"
                         f"{caption} {self.describe()}\n:::\n"))

    def show_table(self, table: pd.DataFrame, name: str, caption: str, digits: int = 4) -> None:
        """Display ``table`` as a numbered MyST table labelled ``name``."""
        from IPython.display import Markdown, display

        display(Markdown(f":::{{table}} {caption} {self.describe()}\n:name: {name}\n\n"
                         f"{markdown_table(table, digits)}\n:::\n"))


def markdown_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table; floats rounded to ``digits``, missing values as '-'."""
    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value).replace("|", "/")

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def open_chapter(profile: str, results_dir: str | Path = "results", population_size: int | None = None,
                 dense_population_size: int | None = None, sparsities: list[float] | None = None,
                 seed: int | None = None, correction: str | None = "fdr_bh", alpha: float = 0.05,
                 repeats: int = 20, data_dir: str | None = None, figures_dir: str | Path = "figures") -> Chapter:
    """Load (computing if needed) the analysis tables of a trained population for a notebook.

    A population that is not trained yet raises an error naming the command that trains it.
    """
    settings = resolve_settings(profile, population_size, dense_population_size, sparsities, seed, data_dir)
    options = AnalysisOptions(correction=None if correction in (None, "none") else correction, alpha=alpha,
                              repeats=repeats)
    _, tables = run_analysis(results_dir, settings, options)
    info = store.read_population_info(store.population_dir(results_dir, settings))
    return Chapter(settings, Path(results_dir), tables, tuple(info["class_names"]), int(info["num_test"]),
                   Path(figures_dir))


# ----------------------------------------------------------------------------- the runner

def notebook_sources(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))


def _package_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _tables_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.csv")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def execute_notebook(source: Path, output: Path, parameters: dict[str, Any], inputs_digest: str) -> bool:
    """Execute a jupytext notebook with papermill into ``output``; skipped (False) when the output was
    made from the same source, parameters, package code and analysis tables."""
    import jupytext
    import papermill

    stamp_path = output.with_suffix(STAMP_SUFFIX)
    stamp = hashlib.sha256(json.dumps({"source": source.read_text(), "parameters": parameters,
                                       "inputs": inputs_digest}, sort_keys=True).encode()).hexdigest()
    if output.is_file() and stamp_path.is_file() and json.loads(stamp_path.read_text()).get("stamp") == stamp:
        return False
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    staging = output.with_name(f".{output.stem}.input.ipynb")
    output.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, staging)
    try:
        papermill.execute_notebook(str(staging), str(output), parameters=parameters, cwd=str(output.parent),
                                   kernel_name="python3", progress_bar=True, log_output=False)
    except papermill.PapermillExecutionError as exc:
        output.unlink(missing_ok=True)  # never leave a book with a silently broken chapter
        raise BookError(f"notebook {source.name} failed: {exc.ename}: {exc.evalue}") from None
    finally:
        staging.unlink(missing_ok=True)
    store.save_json(stamp_path, {"stamp": stamp})
    return True


def assemble(root: Path, book_root: Path) -> None:
    """Copy the book's configuration and prose into ``book_root`` (when building outside the repository)."""
    if book_root.resolve() == root.resolve():
        return
    (book_root / "book").mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(root / name, book_root / name)
    for path in (root / "book").iterdir():
        if path.suffix in BOOK_SOURCE_SUFFIXES:
            shutil.copy2(path, book_root / "book" / path.name)


def build_book(profile: str, root: str | Path = ".", book_root: str | Path | None = None,
               results_dir: str | Path = "results", train: bool = True, progress: bool = True,
               data_dir: str | None = None, device: str | None = None, **notebook_parameters: Any) -> Path:
    """Train (or load) the population, execute every notebook into ``<book_root>/book`` and build the
    HTML into ``<book_root>/_build/html``; return the path of its index page."""
    root = Path(root).resolve()
    book_root = Path(book_root).resolve() if book_root else root
    results_dir = Path(results_dir).resolve()
    if data_dir is not None:
        notebook_parameters["data_dir"] = str(Path(data_dir).resolve())
    settings = resolve_settings(profile, notebook_parameters.get("population_size"),
                                notebook_parameters.get("dense_population_size"),
                                notebook_parameters.get("sparsities"), notebook_parameters.get("seed"),
                                notebook_parameters.get("data_dir"), device)
    if train:
        train_population(settings, results_dir, progress=progress)
    options = AnalysisOptions(**{k: v for k, v in notebook_parameters.items() if k in ("correction", "alpha", "repeats")})
    folder, _ = run_analysis(results_dir, settings, options, progress=progress)
    robustness_folder = evaluate_population(settings, results_dir, RobustnessOptions(), progress=progress)
    inputs_digest = hashlib.sha256(((folder / "params.json").read_text() + _package_digest()
                                    + _tables_digest(robustness_folder)).encode()).hexdigest()
    assemble(root, book_root)
    parameters = {"profile": profile, "results_dir": str(results_dir), **notebook_parameters}
    for source in notebook_sources(root):
        output = book_root / "book" / f"{source.stem}.ipynb"
        if progress:
            print(f"Executing {source.name} -> {output}", flush=True)
        ran = execute_notebook(source, output, parameters, inputs_digest)
        if progress and not ran:
            print("  unchanged; kept", flush=True)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book_root), "-W", "-n", "--keep-going"]
    if progress:
        print("Building the HTML: " + " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise BookError(f"jupyter-book build failed:\n{tail}")
    index = book_root / "_build" / "html" / "index.html"
    return index
