import json
from pathlib import Path

import jupytext
import pytest

from pruning_impact.book import paths
from pruning_impact.book.chapter import open_chapter
from pruning_impact.book.parameters import (
    PARAMETERS,
    expected_cell_lines,
    parameters_cell_lines,
    read_parameter,
    read_parameters,
)
from pruning_impact.foundations import store
from pruning_impact.foundations.errors import ParameterError, PruningImpactError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = paths.notebook_sources(ROOT)


def cells(notebook) -> list[tuple]:
    """What a reader runs of a notebook: each cell's kind, source and tags."""
    return [(c.cell_type, c.source, sorted(c.metadata.get("tags", []))) for c in notebook.cells]


def test_every_notebook_has_a_paired_ipynb_in_sync():
    assert len(SOURCES) == 10
    for source in SOURCES:
        paired = source.with_suffix(".ipynb")
        assert paired.is_file(), f"{paired.name} is missing: run make notebooks"
        text, ipynb = jupytext.read(source), jupytext.read(paired)
        assert cells(ipynb) == cells(text), f"{paired.name} differs from {source.name}: run make notebooks"
        raw = json.loads(paired.read_text())
        assert raw["metadata"]["kernelspec"]["name"] == "python3"  # papermill needs no -k
        assert all(not c.get("outputs") for c in raw["cells"] if c["cell_type"] == "code")


def test_a_drifted_pair_is_detected(tmp_path):
    source = SOURCES[1]
    notebook = jupytext.read(source.with_suffix(".ipynb"))
    assert cells(notebook) == cells(jupytext.read(source))
    notebook.cells[3].metadata["tags"] = ["an edit made in Jupyter only"]
    jupytext.write(notebook, tmp_path / "drifted.ipynb")
    assert cells(jupytext.read(tmp_path / "drifted.ipynb")) != cells(jupytext.read(source))


def test_every_parameters_cell_is_written_from_the_table():
    for source in SOURCES:
        text = source.read_text()
        assert parameters_cell_lines(text) == expected_cell_lines(text), (
            f"{source.name}: run python -m pruning_impact.parameters {source}"
        )


def test_papermill_prints_every_parameters_description():
    import papermill

    for source in SOURCES:
        inferred = papermill.inspect_notebook(str(source.with_suffix(".ipynb")))
        assert inferred, source.name
        for name, found in inferred.items():
            assert found["help"] == PARAMETERS[name].help, (source.name, name)
            assert found["inferred_type_name"] == PARAMETERS[name].kind


def test_lists_and_numbers_may_arrive_as_text():
    assert read_parameter("sparsities", "0 0.5 0.9") == (0.0, 0.5, 0.9)
    assert read_parameter("sparsities", "[0, 0.5, 0.9]") == (0.0, 0.5, 0.9)
    assert read_parameter("sparsities", [0, 0.9]) == (0.0, 0.9)
    assert read_parameter("population_size", "4") == 4
    assert read_parameter("correction", "none") is None
    assert read_parameters({"correction": "none", "alpha": None, "x": 1}) == {"correction": None}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("profile", "fashion", "notebook parameter profile = 'fashion': unknown profile; choose one of smoke"),
        ("population_size", -2, "population_size = -2: -2 is negative; give 1 or more"),
        ("population_size", 0, "population_size = 0: 0 is too small; give 1 or more"),
        ("population_size", "four", "population_size = 'four': expected int"),
        ("dense_population_size", 2.5, "dense_population_size = 2.5: expected int"),
        ("sparsities", "0 1.5", "sparsities = '0 1.5': 1.5 is too large; give less than 1"),
        ("sparsities", "[0, -0.5]", "sparsities = '[0, -0.5]': -0.5 is negative"),
        ("sparsities", "0 0.5 0.5", "a sparsity is repeated"),
        ("sparsities", "0.9", "include 0: every comparison is with the dense models"),
        ("sparsities", "[]", "include 0"),
        ("alpha", 0, "alpha = 0: 0 is too small; give more than 0"),
        ("repeats", -1, "repeats = -1: -1 is negative"),
        ("robustness_subsample", -10, "robustness_subsample = -10: -10 is negative"),
        ("correction", "holm", "unknown correction; choose one of fdr_bh, bonferroni or none"),
        ("gallery_size", -3, "gallery_size = -3: -3 is negative"),
        ("calibration_simulations", 0, "calibration_simulations = 0"),
    ],
)
def test_a_wrong_value_names_the_parameter(name, value, message):
    with pytest.raises(ParameterError) as caught:
        read_parameters({name: value})
    assert message in str(caught.value)
    assert str(caught.value).count("\n") == 0  # one message


def test_jupyter_shows_the_message_alone():
    error = ParameterError("notebook parameter population_size = -2: ...")
    assert error._render_traceback_() == ["ParameterError: notebook parameter population_size = -2: ..."]
    assert issubclass(ParameterError, PruningImpactError)


def test_missing_models_name_the_parameter_and_the_train_command(smoke_population, tmp_path):
    results, settings = smoke_population
    base = {"profile": "smoke", "results_dir": str(results)}
    with pytest.raises(ParameterError, match=r"sparsities = \[0.0, 0.3\]: 0 of 3 models .* pruning-impact train "):
        open_chapter({**base, "sparsities": "0 0.3"})
    with pytest.raises(
        ParameterError,
        match="population_size = 5: .*train them with: pruning-impact train --profile smoke .*--population-size 5",
    ):
        open_chapter({**base, "population_size": 5})
    with pytest.raises(ParameterError, match="dense_population_size = 12: 9 of 12 models"):
        open_chapter({**base, "dense_population_size": 12})
    with pytest.raises(
        ParameterError, match="results_dir = .*no trained population of profile smoke .*pruning-impact train"
    ):
        open_chapter({"profile": "smoke", "results_dir": str(tmp_path)})


def test_a_smaller_population_is_analysed_from_stored_models_without_training(smoke_population):
    results, settings = smoke_population
    pop_dir = store.population_dir(results, settings)
    before = {p: p.stat().st_mtime_ns for p in pop_dir.glob("sparsity-*/model-*/*")}
    chapter = open_chapter(
        {"profile": "smoke", "results_dir": str(results), "population_size": "2", "sparsities": "[0, 0.9]"}
    )
    assert chapter.k == 2 and chapter.k_dense == 6 and chapter.settings.population.sparsities == (0.0, 0.9)
    assert set(chapter.tables["toplines"]["sparsity"]) == {0.0, 0.9}
    assert {p: p.stat().st_mtime_ns for p in pop_dir.glob("sparsity-*/model-*/*")} == before  # nothing retrained
    assert chapter.with_parameters(alpha=0.01).analysis_options.alpha == 0.01


def test_an_untrained_profile_is_blamed_when_the_folder_holds_other_populations(smoke_population):
    results, _ = smoke_population
    with pytest.raises(ParameterError, match="profile = 'classroom': no trained population of profile classroom"):
        open_chapter({"profile": "classroom", "results_dir": str(results)})
