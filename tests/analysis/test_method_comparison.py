import numpy as np
import pytest

from pruning_impact.analysis.method_comparison import NO_COMPRESSION, SECOND_DENSE, run_comparison
from pruning_impact.cli import main
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import MissingResultsError, SettingsError
from pruning_impact.training.variants import train_variants, variant_settings

METHODS = ("random", "quantize-int8")


@pytest.fixture(scope="module")
def comparison(smoke_copy, smoke_settings):
    results, settings = smoke_copy(), smoke_settings
    train_variants(settings, results, METHODS, 2, progress=False)
    folder, tables = run_comparison(settings, results, METHODS, 2)
    return results, settings, folder, tables


def test_variant_settings(smoke_settings):
    random = variant_settings(smoke_settings, "random", 3)
    assert random.population.levels == (0.0, 0.9) and random.population.size_at(0.0) == 6
    assert variant_settings(smoke_settings, "quantize-fp16", 3).population.levels == (0.0, 16.0)
    with pytest.raises(SettingsError, match="choose a smaller K"):
        variant_settings(smoke_settings, "random", 5)  # 9 dense models, K = 3
    with pytest.raises(SettingsError, match="at least 2K"):
        smoke_settings.replace(population={"method": "quantize-int8", "dense_population_size": 5})


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_comparison_rows_and_what_they_are_scored_with(comparison):
    results, settings, folder, tables = comparison
    levels = tables["levels"].set_index("method")
    assert list(levels.index) == [NO_COMPRESSION, "magnitude", *METHODS]
    assert (levels["k"] == 2).all()
    # 9 dense: reference 2, partners 2, a second dense group 2 (the overlap's floor), 3 held out to score
    assert (levels["held_out_models"] == 3).all()
    # the partners are the quantized models' sources: they agree on most images, and find the same few exemplars
    assert levels.loc["quantize-int8", "agreement_with_source"] >= 0.95
    assert np.isnan(levels.loc["random", "agreement_with_source"])
    # at 90% sparsity the pruning methods change far more modal labels than the floor; the taxicab score ranks
    # those exemplars first, as the PIE flag is its threshold case
    for method in ("magnitude", "random"):
        assert levels.loc[method, "n_cie"] > levels.loc[method, "cie_floor_p975"]
        assert levels.loc[method, "taxicab_auc_cie"] > 0.8
        assert levels.loc[method, "cev"] > levels.loc[method, "cev_floor_p975"]
    assert np.isfinite(levels["vog_auc_cie"]).all()  # the held-out models keep checkpoints in the smoke profile
    overlap = tables["overlap"]
    assert (overlap["method_b"] == SECOND_DENSE).sum() == 1
    assert ((overlap["jaccard"] >= 0) & (overlap["jaccard"] <= 1)).all()
    effects = tables["class_effects"]
    assert set(effects["method"]) == set(levels.index) and len(effects) == len(levels) * 10 * 2
    shared = tables["shared"].set_index("images")
    assert list(shared.index) == [
        "in every pruning method's set",
        "in both sets made without compression",
        "all test images",
    ]
    assert shared["sets"].tolist() == [2, 2, 0]  # magnitude and random; the quantized rows are the partners converted
    sparsity = tables["magnitude_levels"]
    assert sparsity["sparsity"].tolist() == [0.5, 0.9] and (sparsity["cev"] >= 0).all()


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_comparison_is_read_back_when_fresh_and_made_again_when_a_model_changes(comparison):
    results, settings, folder, tables = comparison
    again_folder, again = run_comparison(settings, results, METHODS, 2)
    assert again_folder == folder and again["levels"].equals(tables["levels"])
    level = store.sparsity_dir(store.population_dir(results, variant_settings(settings, "random", 2)), 0.9)
    assert folders.is_finished(folder)
    folders.clear(level)
    with pytest.raises(MissingResultsError, match="random"):
        run_comparison(settings, results, METHODS, 2)
    train_variants(settings, results, ("random",), 2, progress=False)
    assert run_comparison(settings, results, METHODS, 2)[1]["levels"].equals(tables["levels"])  # same seed, same model


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_compare_command(comparison, capsys):
    results, settings, _, _ = comparison
    code = main(
        [
            "compare",
            "--profile",
            "smoke",
            "--results",
            str(results),
            "--methods",
            *METHODS,
            "--comparison-k",
            "2",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "quantize-int8" in out and "K = 2" in out
    code = main(["compare", "--profile", "smoke", "--results", str(results), "--comparison-k", "5", "--quiet"])
    assert code == 2 and "choose a smaller K" in capsys.readouterr().err
