import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pruning_impact.book import paths
from pruning_impact.book.build import build_book, notebook_parameters
from pruning_impact.book.headless import Browser, chromium
from pruning_impact.cli import main
from pruning_impact.foundations import store
from pruning_impact.foundations.errors import BookError, SettingsError
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import get_profile

ROOT = Path(__file__).resolve().parents[2]
FAST = {"calibration_simulations": 2, "classroom_profile": "smoke"}  # see conftest.smoke_book
CHAPTERS = [
    "intro",
    "00_method",
    "01_setup",
    "02_class_impact",
    "03_pie",
    "04_robustness",
    "05_paper_vs_book",
    "06_teaching",
    "07_methods",
    "08_human_study",
    "09_exemplar_browser",
    "rerun",
    "discussion",
    "references",
]


def test_every_chapter_is_built(smoke_book):
    book_root, index, _, _ = smoke_book
    assert index.is_file()
    for chapter in CHAPTERS:
        assert (book_root / "_build" / "html" / "book" / f"{chapter}.html").is_file(), chapter
    assert len(paths.notebook_sources(ROOT)) == 10


def test_the_build_records_its_stage_times_and_the_rerun_chapter_shows_them(smoke_book):
    book_root, _, results, settings = smoke_book
    record = store.read_timings(store.population_dir(results, settings))[0]
    assert set(record["stage_seconds"]) == {
        "train",
        "analysis",
        "robustness",
        "compression methods",
        "calibration",
        "verdict stability",
    }
    assert record["models_trained"] == 0  # the population was trained before the book
    assert record["machine"]["cores"] >= 1 and record["machine"]["processor"]
    html = (book_root / "_build" / "html" / "book" / "01_setup.html").read_text()
    assert "tab-build-time" in html and record["date"] in html
    # a build that trained nothing and was not started by make book says so, with no inf or NA cells
    assert "it trained 0 of the population" in html and "setup was not timed" in html
    assert "&lt;NA&gt;" not in html and ">inf<" not in html
    rerun = (book_root / "_build" / "html" / "book" / "rerun.html").read_text()
    assert record["machine"]["processor"] in rerun
    assert "worker process" in record["executor"] and record["executor"] in html


def test_the_rerun_chapter_shows_the_cluster_commands_and_the_slurm_script(smoke_book):
    book_root, _, _, _ = smoke_book
    page = (book_root / "_build" / "html" / "book" / "rerun.html").read_text()
    rerun = html.unescape(re.sub(r"<[^>]+>", "", page))  # the text a reader sees, highlighting removed
    assert "--executor ray --ray-address auto" in rerun and "ray start --head --port=6379" in rerun
    assert "scontrol show hostnames" in rerun  # the SLURM script, included from scripts/
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "ray-slurm.sbatch")], check=True)  # it parses


def test_every_figure_is_in_the_html(smoke_book):
    book_root, _, _, _ = smoke_book
    html_dir = book_root / "_build" / "html" / "book"
    expected = {"01_setup": 2, "02_class_impact": 2, "03_pie": 5, "04_robustness": 1}
    for page, count in expected.items():
        html = (html_dir / f"{page}.html").read_text()
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        assert len(images) >= count, page
        for src in images:
            assert (html_dir / src).is_file(), src
        assert "Fig. " in html


def test_glued_numbers_match_the_tables(smoke_book):
    book_root, _, results, settings = smoke_book
    from pruning_impact.analysis.run import read_analysis

    tables = read_analysis(results, settings)
    toplines = tables["toplines"].set_index("sparsity")
    html = (book_root / "_build" / "html" / "book" / "01_setup.html").read_text()
    assert f'<span class="pasted-text">{100 * toplines.loc[0.0, "top1_mean"]:.2f}</span>' in html
    pie_html = (book_root / "_build" / "html" / "book" / "03_pie.html").read_text()
    n_pie = int(tables["pie_counts"].set_index("sparsity").loc[0.9, "n_pie"])
    assert f'<span class="pasted-text">{n_pie}</span>' in pie_html
    verdicts = (book_root / "_build" / "html" / "book" / "05_paper_vs_book.html").read_text()
    glued = re.findall(
        r'<span class="pasted-text">(reproduced|not reproduced|mixed|inconclusive|not evaluated|not testable here)'
        r"</span>",
        verdicts,
    )
    assert len(glued) == 6  # one computed verdict per headline claim (1, 2, 2s, 3a, 3b, 3n), glued into the prose
    intro = (book_root / "_build" / "html" / "book" / "intro.html").read_text()
    assert f'<span class="pasted-text">{n_pie}</span>' in intro  # glued across pages


def test_no_result_is_typed_by_hand(smoke_book):
    from pruning_impact.book.hand_typed import hand_typed_claims

    book_root, _, _, _ = smoke_book
    found = hand_typed_claims(book_root / "_build" / "html")
    assert not found, "\n".join(f"{c.page}: {c.text}: {c.snippet}" for c in found)


def test_a_second_build_keeps_executed_notebooks(smoke_book, tmp_path):
    shared_root, _, _, _ = smoke_book
    base = tmp_path / "copy"  # the shared book stays as built: its whole folder is copied and built again
    shutil.copytree(shared_root.parent, base, ignore=shutil.ignore_patterns("_build"))
    notebook = base / "book" / "book" / "01_setup.ipynb"
    stamp = notebook.stat().st_mtime_ns
    overrides = {"data_dir": str(base / "data")}
    build_book(
        "smoke",
        root=ROOT,
        book_root=base / "book",
        results_dir=base / "results",
        progress=False,
        overrides=overrides,
        **FAST,
    )
    assert notebook.stat().st_mtime_ns == stamp


def test_a_failing_notebook_stops_the_build(smoke_book_results, tmp_path):
    results = smoke_book_results  # every population the chapters need is trained there
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, root / name)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("*.ipynb", "figures", "*.json"))
    (root / "notebooks").mkdir()
    (root / "notebooks" / "01_setup.py").write_text(
        '# %% tags=["parameters", "hide-input"]\nprofile = "smoke"\n\n# %%\nraise RuntimeError("planted failure")\n'
    )
    with pytest.raises(BookError, match="01_setup.py failed: RuntimeError: planted failure"):
        build_book("smoke", root=root, results_dir=results, progress=False, train=False, **FAST)
    assert not (root / "book" / "01_setup.ipynb").exists()


def test_the_build_passes_only_what_differs_in_the_notebooks_names():
    parameters = notebook_parameters(
        {"population_size": 4, "device": "cpu"},
        AnalysisOptions(correction="none"),
        RobustnessOptions(subsample=None, adversarial_subsample=50),
        profile="fashion-mnist",
        results_dir="../results",
        calibration_simulations=None,  # build_book passes None for the default number
        classroom_profile="classroom",
    )
    assert parameters == {
        "population_size": 4,
        "correction": "none",
        "robustness_subsample": "none",
        "robustness_adversarial_subsample": 50,
        "results_dir": "../results",
    }
    with pytest.raises(BookError, match="--pgd-steps"):
        notebook_parameters({}, AnalysisOptions(), RobustnessOptions(pgd_steps=3))


def test_the_book_shows_relative_parameters_folded(smoke_book):
    book_root, _, _, _ = smoke_book
    notebook = json.loads((book_root / "book" / "03_pie.ipynb").read_text())
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "hide-input" in injected[0]["metadata"]["tags"]
    source = "".join(injected[0]["source"])
    assert not re.search(r'= "/', source) and 'profile = "smoke"' in source  # no absolute path
    assert "calibration_simulations" not in source  # 03_pie does not take it


def test_every_chapter_folds_its_parameters_cell_for_readers(smoke_book):
    book_root, _, _, _ = smoke_book
    for source in paths.notebook_sources(ROOT):
        notebook = json.loads(paths.executed_notebook(book_root, source).read_text())
        tagged = [
            c["metadata"].get("tags", []) for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])
        ]
        assert tagged == [["parameters", "hide-input"]], source.name  # papermill still finds it by its tag


def test_the_verdict_table_is_compact_with_stability_and_the_evidence_folded(smoke_book):
    book_root, _, _, _ = smoke_book
    page = (book_root / "_build" / "html" / "book" / "05_paper_vs_book.html").read_text()
    table = page[page.index('id="tab-verdicts"') :]
    header = table[table.index("<thead>") : table.index("</thead>")]
    for column in ("claim", "verdict", "stability", "statistic"):
        assert f"<p>{column}</p>" in header
    assert "evidence" not in header and "a small CNN; K = 3" in table[: table.index("<thead>")]
    evidence = page[page.index('id="tab-verdict-evidence"') - 3000 : page.index('id="tab-verdict-evidence"')]
    assert "<details" in evidence and "Evidence behind each verdict" in evidence
    assert 'id="fig-paper-forest"' in page


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (make test installs it)")
def test_verdicts_do_not_wrap_at_a_laptops_width(smoke_book):
    book_root, _, _, _ = smoke_book
    page = book_root / "_build" / "html" / "book" / "05_paper_vs_book.html"
    cells = "[...document.querySelectorAll('#tab-verdicts tbody tr td:nth-child(3)')]"
    with Browser(width=1366) as browser:
        browser.open(page.as_uri())
        lines = browser.evaluate(
            f"{cells}.map(td => {{ const r = document.createRange(); r.selectNodeContents((td.querySelector('p') || td).firstChild); "
            "return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })"
        )
    assert lines and all(n == 1 for n in lines), lines  # each verdict on one line, no word broken


def test_sparsities_are_shown_as_percentages(smoke_book):
    book_root, _, _, _ = smoke_book
    page = (book_root / "_build" / "html" / "book" / "01_setup.html").read_text()
    table = page[page.index('id="tab-toplines"') :]
    assert "<p>90%</p>" in table[: table.index("</table>")] and "0.9000" not in page


def test_book_command_accepts_correction_none(monkeypatch, tmp_path):
    seen = {}

    def fake_build(profile, **kwargs):
        seen.update(kwargs, profile=profile)
        return tmp_path / "index.html"

    monkeypatch.setattr("pruning_impact.book.build.build_book", fake_build)
    assert (
        main(
            [
                "book",
                "--profile",
                "smoke",
                "--correction",
                "none",
                "--subsample",
                "none",
                "--population-size",
                "2",
                "--results",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert seen["analysis"] == AnalysisOptions(correction=None)
    assert seen["robustness"] == RobustnessOptions(subsample=None)
    assert seen["overrides"] == {"population_size": "2"}


def test_book_output_is_checked_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    results = tmp_path / "results"
    assert main(["book", "--profile", "smoke", "--results", str(results), "--output", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the book to") and "Traceback" not in err
    assert not results.exists()  # nothing was trained


def test_a_population_too_small_for_the_methods_chapter_stops_before_any_work(tmp_path, capsys):
    results, output = tmp_path / "results", tmp_path / "out"
    command = ["book", "--profile", "smoke", "--results", str(results), "--output", str(output)]
    assert main([*command, "--dense-population-size", "1"]) == 2
    err = capsys.readouterr().err
    assert "comparing methods at K = 1 needs the reference and its partners" in err and "Traceback" not in err
    assert not results.exists() and not output.exists()  # nothing trained, no folder made


def test_a_wrong_override_stops_before_any_folder_is_made(tmp_path):
    output, results = tmp_path / "out", tmp_path / "results"
    with pytest.raises(SettingsError, match="sparsit"):
        build_book("smoke", ROOT, output, results, overrides={"sparsities": "0 1.5"}, progress=False)
    assert not output.exists() and not results.exists()


def test_the_lessons_are_rehearsed_on_the_classroom_population_and_timed(smoke_book):
    book_root, _, results, settings = smoke_book  # the smoke population stands in for the classroom one
    pop_dir = store.population_dir(results, settings)
    times = store.read_notebook_times(pop_dir)
    for name in ("02_class_impact", "03_pie"):
        assert store.lesson_notebook(pop_dir, name).is_file()
        assert times[name]["seconds"] > 0 and times[name]["machine"]["cores"] >= 1
    page = (book_root / "_build" / "html" / "book" / "06_teaching.html").read_text()
    plan = page[page.index('id="tab-lesson-plan"') :]
    plan = plan[: plan.index("</table>")]
    lesson_two = round(times["02_class_impact"]["seconds"] + times["03_pie"]["seconds"])
    assert f"<p>{lesson_two}</p>" in plan
    assert 'href="#ex-method-aa"' in page or "ex-method-aa" in page  # exercises cross-referenced
    assert re.search(r'href="[^"]*00_method.html#ex-method-aa"', page)


def test_no_train_without_the_classroom_population_stops_before_any_work(smoke_book_results, tmp_path):
    results, settings = smoke_book_results, get_profile("smoke")  # the methods' populations are trained there
    before = store.read_timings(store.population_dir(results, settings))
    with pytest.raises(BookError, match="needs the classroom population, which is not trained, and --no-train"):
        build_book("smoke", root=ROOT, book_root=tmp_path, results_dir=results, progress=False, train=False)
    assert store.read_timings(store.population_dir(results, settings)) == before  # no stage ran


def test_calibrate_command_fits_the_population_and_prints_the_targets(smoke_book_results, capsys):
    assert main(["calibrate", "--profile", "smoke", "--results", str(smoke_book_results), "--simulations", "1",
                 "--workers", "1", "--quiet"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("null_max=") and "planted_min=" in out
    assert "random-pies" in out and "not counted" in out
