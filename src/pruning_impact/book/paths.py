"""The book's file names, in one place: where the notebooks' sources are, where they are executed to, their
stamps and staged copies, the figures, the exemplar browser's files and the HTML. The results' files are
named in ``foundations.store``."""

from __future__ import annotations

from pathlib import Path

NOTEBOOKS_DIR = "notebooks"
BOOK_DIR = "book"
FIGURES_DIR = "figures"
EXEMPLARS_DIR = "_static/exemplars"  # beside the book's static files (html_static_path): the exemplar browser's
BOOK_CONFIG_FILES = ("_config.yml", "_toc.yml")
BOOK_SOURCE_SUFFIXES = (".md", ".bib")
BOOK_INCLUDED_FILES = (  # repository files the book shows (literalinclude) or loads (its style sheet)
    "scripts/ray-slurm.sbatch",
    "book/_static/book.css",
)
NOTEBOOK_PATTERN = "[0-9][0-9]_*.py"
NOTEBOOK_SUFFIX = ".ipynb"  # executed, staged and handed-out notebooks
HTML_DIR = "_build/html"  # Jupyter Book's HTML, under the book's root
PAGE_PATTERN = "*.html"
SPHINX_PAGES = frozenset({"genindex.html", "search.html", "py-modindex.html"})  # Sphinx's own pages, not chapters


def notebook_sources(root: Path) -> list[Path]:
    """The book's notebooks (jupytext sources), in chapter order."""
    return sorted((root / NOTEBOOKS_DIR).glob(NOTEBOOK_PATTERN))


def executed_notebook(book_root: Path, source: Path) -> Path:
    return book_root / BOOK_DIR / f"{source.stem}{NOTEBOOK_SUFFIX}"


def staged_notebook(output: Path) -> Path:
    """Where a notebook is converted before papermill executes it into ``output``."""
    return output.with_name(f".{output.stem}.input{NOTEBOOK_SUFFIX}")


def notebook_stamp(output: Path) -> Path:
    """What an executed notebook was made from (source, parameters, inputs), beside it."""
    return output.with_name(f"{output.stem}.stamp.json")


def figure_file(figures_dir: Path, name: str) -> Path:
    return figures_dir / f"{name}.png"


def html_index(book_root: Path) -> Path:
    return book_root / HTML_DIR / "index.html"
