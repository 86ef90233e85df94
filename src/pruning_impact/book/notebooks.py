"""The book's notebooks as files: each executed with papermill into the book (skipped when nothing it depends
on changed), the lessons rehearsed on the classroom population, the handouts without solutions, and the
book's sources copied where it is built."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from pruning_impact.book import paths
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import BookError
from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.settings import Settings

logger = logging.getLogger(__name__)


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
    staging = paths.staged_notebook(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, staging)
    try:
        declared = papermill.inspect_notebook(str(staging))
        passed = {name: value for name, value in parameters.items() if name in declared}
        stamp_path = paths.notebook_stamp(output)
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
    folders.save_json(stamp_path, {"stamp": stamp})
    return True


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
        source = root / paths.NOTEBOOKS_DIR / f"{name}.py"
        if not source.is_file():  # a repository without that chapter
            continue
        output = store.lesson_notebook(pop_dir, name)
        parameters = {
            "profile": classroom.profile,
            "results_dir": relative_path(results_dir, output.parent),
            "data_dir": relative_path(classroom.data.data_dir, output.parent),
        }
        if progress:
            logger.info("Executing %s on the %s population, as in a lesson -> %s", name, classroom.profile, output)
        clock = time.perf_counter()
        if execute_notebook(source, output, parameters, inputs_digest):
            store.record_notebook_time(pop_dir, name, round(time.perf_counter() - clock, 1), machine())


def student_notebooks(root: str | Path, out: str | Path) -> list[Path]:
    """Write each notebook of ``root`` as an ``.ipynb`` without its solutions (the cells tagged ``solution``)
    into ``out``, for students; a solution left outside such a cell is an error, not a leak."""
    import jupytext

    out = folders.check_writable(Path(out), "student notebooks")
    written = []
    for source in paths.notebook_sources(Path(root)):
        notebook = jupytext.read(source)
        notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
        left = [i for i, cell in enumerate(notebook.cells) if "{solution}" in cell.source]
        if left:
            raise BookError(f"{source.name}: cells {left} hold a solution block but are not tagged {SOLUTION_TAG}")
        notebook.metadata.pop("jupytext", None)  # a handed-out copy is not paired with the .py
        path = out / source.with_suffix(paths.NOTEBOOK_SUFFIX).name
        jupytext.write(notebook, path)
        written.append(path)
    if not written:
        raise BookError(f"no notebooks in {Path(root) / paths.NOTEBOOKS_DIR}: pass --root, the repository's folder")
    return written


def assemble(root: Path, book_root: Path) -> None:
    """Copy the book's configuration, prose and the files it includes into ``book_root`` (when building
    outside the repository)."""
    if book_root.resolve() == root.resolve():
        return
    (book_root / paths.BOOK_DIR).mkdir(parents=True, exist_ok=True)
    for name in paths.BOOK_CONFIG_FILES:
        shutil.copy2(root / name, book_root / name)
    for path in (root / paths.BOOK_DIR).iterdir():
        if path.suffix in paths.BOOK_SOURCE_SUFFIXES:
            shutil.copy2(path, book_root / paths.BOOK_DIR / path.name)
    for name in paths.BOOK_INCLUDED_FILES:
        (book_root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, book_root / name)
