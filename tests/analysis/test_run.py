import numpy as np
import pandas as pd
import pytest

from pruning_impact.analysis.pie import modal_labels
from pruning_impact.analysis.predictions import load_population
from pruning_impact.analysis.run import TABLES, analyze, read_analysis, run_analysis
from pruning_impact.cli import main
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import MissingResultsError
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.training.population import train_population


def test_analyze_cli_writes_every_table(smoke_population, capsys):
    results, settings = smoke_population
    assert main(["analyze", "--profile", "smoke", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "Class-level impact (Table 1)" in out and "fdr_bh" in out and "PIEs per sparsity" in out
    _, tables = run_analysis(results, settings)
    assert set(tables) == set(TABLES)
    summary = tables["class_summary"]
    assert set(summary["correction"]) == {"none", "fdr_bh"} and set(summary["sparsity"]) == {0.5, 0.9}
    assert len(tables["class_tests"]) == 2 * 2 * 10
    toplines = tables["toplines"].set_index("sparsity")
    assert toplines.loc[0.0, "k"] == 9 and toplines.loc[0.9, "k"] == 3
    assert (toplines["top5_mean"] >= toplines["top1_mean"]).all()


def test_analysis_uses_a_dense_reference_of_k_and_floors_of_the_same_size(smoke_population):
    results, settings = smoke_population
    population = load_population(results, settings)
    assert population.reference_size == 3 and population.floor_group_size == 3
    tables = analyze(population, AnalysisOptions(repeats=5, random_samples=10))
    assert set(tables["aa_calibration"]["half_size"]) == {3}
    assert set(tables["pie_noise_floor"]["half_size"]) == {3}
    counts = tables["pie_counts"].set_index("sparsity")
    expected = (modal_labels(population.top1[0.9]) != modal_labels(population.top1[0.0][:3])).sum()
    assert counts.loc[0.9, "n_pie"] == expected and counts.loc[0.9, "k_dense"] == 3
    examples = tables["examples"]
    assert len(examples) == 3 * 400 and set(examples.columns) == {"example", "label", "sparsity", "modal", "is_pie"}
    assert examples.loc[examples["sparsity"] == 0.9, "is_pie"].sum() == expected
    assert not examples.loc[examples["sparsity"] == 0.0, "is_pie"].any()
    np.testing.assert_array_equal(
        examples.loc[examples["sparsity"] == 0.0, "modal"], modal_labels(population.top1[0.0][:3])
    )
    evaluation = tables["pie_evaluation"]
    assert set(evaluation["subset"]) <= {"pie", "non_pie", "random"}
    assert set(evaluation["model_sparsity"]) == {0.0, 0.5, 0.9}


def test_no_set_is_scored_by_a_model_that_chose_it(smoke_population):
    results, settings = smoke_population
    population = load_population(results, settings)
    dense, labels = population.top1[0.0], population.labels
    assert len(population.held_out_dense) == 3 and len(population.floor_pool) == 6
    tables = analyze(population, AnalysisOptions(repeats=7, permutations=7, random_samples=10))
    evaluation = tables["pie_evaluation"]
    for t in (0.5, 0.9):
        mask = modal_labels(population.top1[t]) != modal_labels(dense[:3])
        rows = evaluation[(evaluation["pie_sparsity"] == t) & (evaluation["subset"] == "pie")].set_index("scorer")
        # the held-out scorers are the last K dense models, and only they (and other levels) are "held-out"
        held = (dense[6:][:, mask] == labels[mask]).mean()
        assert rows.loc["dense held-out", "top1_mean"] == pytest.approx(held)
        assert rows.loc["dense held-out", "role"] == "held-out" and rows.loc["dense reference", "role"] == "defining"
        assert rows.loc[f"sparse {t:.2f}", "role"] == "defining"
        other = 0.5 if t == 0.9 else 0.9
        assert rows.loc[f"sparse {other:.2f}", "role"] == "held-out"
    # floors come from the first 2K dense models only and are scored by the held-out ones
    floor = tables["pie_noise_floor"]
    assert floor["held_out_top1"].notna().all() and len(floor) == 7
    permutations = tables["pie_permutations"]
    assert set(permutations["sparsity"]) == {0.5, 0.9} and len(permutations) == 2 * 7
    assert len(tables["pie_low_vs_high"]) == 7
    shifts = tables["shift_comparison"]
    assert set(shifts["shift"]) == {"model", "population"} and len(shifts) == 2 * 2


def test_missing_population_names_the_command(tmp_path, smoke_settings):
    with pytest.raises(MissingResultsError, match="pruning-impact train --profile smoke"):
        run_analysis(tmp_path, smoke_settings)


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_tables_are_cached_per_options_and_recomputed_when_a_run_changes(tmp_path, smoke_settings):
    settings = smoke_settings.replace(
        population={"sparsities": (0.0, 0.9), "population_size": 2, "dense_population_size": 4}
    )
    train_population(settings, tmp_path, progress=False)
    options = AnalysisOptions(repeats=3, random_samples=5)
    with pytest.raises(
        MissingResultsError,
        match="pruning-impact analyze --profile smoke .*--population-size 2 "
        "--dense-population-size 4 --sparsities 0 0.9 --repeats 3",
    ):
        read_analysis(tmp_path, settings, options)  # readers never compute
    folder, first = run_analysis(tmp_path, settings, options)
    stamp = (folder / folders.table_file("toplines")).stat().st_mtime_ns
    again_folder, again = run_analysis(tmp_path, settings, options)
    assert again_folder == folder and (folder / folders.table_file("toplines")).stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(first["class_summary"], again["class_summary"])
    pd.testing.assert_frame_equal(read_analysis(tmp_path, settings, options)["examples"], first["examples"])
    manifest = folders.read_manifest(folder)
    assert manifest["record"]["provenance"]["code_version"] and manifest["inputs"]["options"]["repeats"] == 3
    other_folder, _ = run_analysis(tmp_path, settings, AnalysisOptions(repeats=3, random_samples=5, correction=None))
    assert other_folder != folder
    run = store.run_dir(store.population_dir(tmp_path, settings), 0.9, 1)
    (run / folders.DONE_FILE).unlink()
    with pytest.raises(MissingResultsError):
        read_analysis(tmp_path, settings, options)  # stale: a run it was made from is gone
    train_population(settings, tmp_path, progress=False)  # retrains that run: new DONE, new fingerprint
    run_analysis(tmp_path, settings, options)
    assert (folder / folders.table_file("toplines")).stat().st_mtime_ns != stamp


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="alpha"):
        AnalysisOptions(alpha=2)
    with pytest.raises(ValueError, match="correction"):
        AnalysisOptions(correction="holm")
    assert (
        AnalysisOptions(correction="none").correction is None
        and AnalysisOptions(correction="none").correction_label == "none"
    )


def test_analyze_cli_refuses_bad_alpha(smoke_population, capsys):
    results, _ = smoke_population
    assert main(["analyze", "--profile", "smoke", "--results", str(results), "--alpha", "2"]) == 2
    assert "alpha 2.0 must lie" in capsys.readouterr().err


def test_the_modules_the_contract_keeps_from_torch_do_not_load_it_at_run_time():
    """The import contract (pyproject.toml) forbids these modules to import torch; this checks the same list
    when they are imported, where a library of theirs that loads torch itself would count too."""
    import subprocess
    import sys
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    config = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["type"] == "forbidden" and "torch" in c["forbidden_modules"]]
    modules = ", ".join(contract["source_modules"])
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
