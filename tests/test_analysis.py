import numpy as np
import pandas as pd
import pytest

from pruning_impact import store
from pruning_impact.analysis import TABLES, analyze, load_population, read_tables
from pruning_impact.cli import main
from pruning_impact.errors import MissingResultsError
from pruning_impact.pie import modal_labels


def test_analyze_cli_writes_every_table(smoke_population, capsys):
    results, settings = smoke_population
    assert main(["analyze", "--profile", "smoke", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "Class-level impact (Table 1)" in out and "fdr_bh" in out and "PIEs per sparsity" in out
    tables = read_tables(results, settings)
    assert set(tables) == set(TABLES)
    summary = tables["class_summary"]
    assert set(summary["correction"]) == {"none", "fdr_bh"} and set(summary["sparsity"]) == {0.5, 0.9}
    assert len(tables["class_tests"]) == 2 * 2 * 10
    toplines = tables["toplines"].set_index("sparsity")
    assert toplines.loc[0.0, "k"] == 6 and toplines.loc[0.9, "k"] == 3
    assert (toplines["top5_mean"] >= toplines["top1_mean"]).all()


def test_analysis_uses_a_dense_reference_of_k_and_floors_of_the_same_size(smoke_population):
    results, settings = smoke_population
    population = load_population(results, settings)
    assert population.reference_size == 3 and population.floor_group_size == 3
    tables = analyze(population, repeats=5, random_samples=10)
    assert set(tables["aa_calibration"]["half_size"]) == {3}
    assert set(tables["pie_noise_floor"]["half_size"]) == {3}
    counts = tables["pie_counts"].set_index("sparsity")
    expected = (modal_labels(population.top1[0.9]) != modal_labels(population.top1[0.0][:3])).sum()
    assert counts.loc[0.9, "n_pie"] == expected and counts.loc[0.9, "k_dense"] == 3
    examples = tables["examples"]
    assert examples["pie_0.90"].sum() == expected
    evaluation = tables["pie_evaluation"]
    assert set(evaluation["subset"]) <= {"pie", "non_pie", "random"}
    assert set(evaluation["model_sparsity"]) == {0.0, 0.5, 0.9}


def test_missing_tables_name_the_command(tmp_path, smoke_settings):
    with pytest.raises(MissingResultsError, match="pruning-impact analyze --profile smoke"):
        read_tables(tmp_path, smoke_settings)


def test_analyze_cli_refuses_bad_alpha(smoke_population, capsys):
    results, _ = smoke_population
    assert main(["analyze", "--profile", "smoke", "--results", str(results), "--alpha", "2"]) == 2
    assert "--alpha" in capsys.readouterr().err
