"""The repository's notebooks as a reader runs them: papermill on notebooks/*.ipynb, with parameters as
papermill's -p passes them (text), a YAML file, and wrong values; the handout without solutions."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from pruning_impact.book import paths
from pruning_impact.cli import main

pytestmark = pytest.mark.slow  # executes the notebooks with papermill in subprocesses

ROOT = Path(__file__).resolve().parents[2]
SOURCES = paths.notebook_sources(ROOT)
PAPERMILL = str(Path(sys.executable).with_name("papermill"))


def outputs_text(notebook: dict) -> str:
    """Everything a notebook's cells printed or displayed, as text."""
    parts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            parts += output.get("text", [])
            for mime in ("text/markdown", "text/plain"):
                parts += output.get("data", {}).get(mime, [])
    return "".join(parts)


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_papermill_runs_each_notebook_with_text_parameters(source, smoke_book_results, tmp_path):
    results = smoke_book_results
    wanted = {
        "profile": "smoke",
        "results_dir": str(results),
        "population_size": "2",  # as text, the way papermill's -r passes it
        "sparsities": "[0, 0.9]",  # a list as text, the way papermill's -p passes it
        "calibration_simulations": 2,
        "classroom_profile": "smoke",
    }
    notebook = source.with_suffix(".ipynb")
    declared = papermill.inspect_notebook(str(notebook))
    output = tmp_path / notebook.name
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters={name: value for name, value in wanted.items() if name in declared},
        cwd=str(tmp_path),
        progress_bar=False,
    )
    text = outputs_text(json.loads(output.read_text()))
    if "population_size" in declared:  # every caption states the population it was made from
        assert "K = 2 models per sparse level, 6 dense models" in text
        shown = set(re.findall(r"\| (\d+(?:\.\d+)?)% \|", text))
        if source.stem in ("01_setup", "02_class_impact"):  # their tables list the levels as percentages
            assert shown == {"0", "90"} or shown == {"90"}, shown  # only the asked sparsities


def test_papermill_cli_reads_a_yaml_file_and_stops_on_a_wrong_value(smoke_book_results, tmp_path):
    results = smoke_book_results
    params = tmp_path / "params.yaml"
    params.write_text(f"profile: smoke\nresults_dir: {results}\npopulation_size: 2\nsparsities: [0, 0.9]\n")
    out = tmp_path / "out.ipynb"
    notebook = str(ROOT / "notebooks" / "02_class_impact.ipynb")
    done = subprocess.run([PAPERMILL, notebook, str(out), "-f", str(params)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "K = 2 models per sparse level" in outputs_text(json.loads(out.read_text()))
    for flag, value, message in [
        ("population_size", "-1", "ParameterError: notebook parameter population_size = -1: -1 is negative"),
        ("population_size", "5", "ParameterError: notebook parameter population_size = 5: 9 of 15 models"),
        ("sparsities", "0 0.3", "ParameterError: notebook parameter sparsities = [0.0, 0.3]: 0 of 2 models"),
        ("profile", "smok", "ParameterError: notebook parameter profile = 'smok': unknown profile"),
    ]:
        done = subprocess.run(
            [PAPERMILL, notebook, str(out), "-f", str(params), "-p", flag, value], capture_output=True, text=True
        )
        assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]
        if value in ("5", "0 0.3"):  # models are missing: the command that trains them
            assert "pruning-impact train --profile smoke" in done.stderr
        # the notebook shows the message alone: no traceback through the package
        failed = json.loads(out.read_text())
        errors = [o for c in failed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert len(errors) == 1 and len(errors[0]["traceback"]) == 1 and message in errors[0]["traceback"][0]


def test_papermill_help_describes_every_parameter():
    done = subprocess.run(
        [PAPERMILL, "--help-notebook", str(ROOT / "notebooks" / "03_pie.ipynb")], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "population_size: int|None (default None)" in done.stdout
    assert "K models per sparse level" in done.stdout and "Unknown type" not in done.stdout


def test_student_notebooks_leave_out_every_solution(tmp_path, capsys):
    assert main(["student-notebooks", "--out", str(tmp_path / "handout"), "--root", str(ROOT)]) == 0
    handouts = sorted((tmp_path / "handout").glob("*.ipynb"))
    assert [p.stem for p in handouts] == [s.stem for s in SOURCES]
    exercises = 0
    for path in handouts:
        notebook = json.loads(path.read_text())
        sources = ["".join(c["source"]) for c in notebook["cells"]]
        assert not any("{solution}" in s or "sol_" in s for s in sources), path.name
        exercises += sum("{exercise}" in s for s in sources)
    assert exercises >= 15
    # the book's notebooks do hold the solutions, each in a cell tagged solution
    full = json.loads((ROOT / "notebooks" / "03_pie.ipynb").read_text())
    solutions = [c for c in full["cells"] if "{solution}" in "".join(c["source"])]
    assert solutions and all("solution" in c["metadata"]["tags"] for c in solutions)


def test_a_solution_outside_a_tagged_cell_is_refused(tmp_path):
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "01_x.py").write_text("# %% [markdown]\n# :::{solution} ex-a\n# 42\n# :::\n")
    with pytest.raises(Exception, match="01_x.py: cells \\[0\\] hold a solution block but are not tagged solution"):
        from pruning_impact.book.notebooks import student_notebooks

        student_notebooks(root, tmp_path / "out")


def browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(browser() is None, reason="needs Debian's chromium (make test installs it)")
def test_solutions_are_folded_in_the_browser(smoke_book, tmp_path):
    book_root, _, _, _ = smoke_book
    page = book_root / "_build" / "html" / "book" / "03_pie.html"
    static = page.read_text()
    assert static.count('class="exercise admonition"') == 3
    assert static.count('class="solution dropdown admonition"') == 3
    numbers = [int(n) for n in re.findall(r'<span class="caption-number">Exercise (\d+) ?</span>', static)]
    assert numbers == [9, 10, 11], numbers  # numbered across the book, after 00_method's 3, 01's 2 and 02's 3
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [browser(), *flags, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # sphinx-togglebutton has folded every solution: hidden, with a button to show it
    folded = re.findall(r'<div class="solution dropdown admonition[^"]*toggle-hidden[^"]*"', dom)
    assert len(folded) == 3, re.findall(r'<div class="solution[^"]*"', dom)
    shot = tmp_path / "03_pie.png"
    subprocess.run(
        [browser(), *flags, "--window-size=1366,12000", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    from PIL import Image

    image = Image.open(shot).convert("L")
    assert image.size == (1366, 12000) and len(set(image.getdata())) > 50  # a rendered page, not a blank one


OVERFLOW_PROBE = (
    '<script>window.addEventListener("load", () => { const wide = [...document.querySelectorAll("table")]'
    ".filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1);"
    'document.body.setAttribute("data-wide-tables", String(wide.length)); });</script></body>'
)


@pytest.mark.browser
@pytest.mark.skipif(browser() is None, reason="needs Debian's chromium (make test installs it)")
def test_tables_fit_a_laptop_page_without_scrolling(smoke_book, tmp_path):
    book_root, _, _, _ = smoke_book
    shutil.copytree(book_root / "_build" / "html", tmp_path / "html")  # probes go beside the pages, in a copy
    html_dir = tmp_path / "html" / "book"
    counts = {}
    for page in sorted(html_dir.glob("0*.html")):
        probe = page.with_name(f".probe-{page.name}")
        probe.write_text(page.read_text().replace("</body>", OVERFLOW_PROBE))
        dom = subprocess.run(
            [
                browser(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1366,768",
                "--virtual-time-budget=5000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        probe.unlink()
        counts[page.stem] = re.search(r'data-wide-tables="(\d+)"', dom).group(1)
    assert counts and set(counts.values()) == {"0"}, counts
