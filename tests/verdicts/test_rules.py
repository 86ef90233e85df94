import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from pruning_impact import verdicts
from pruning_impact.analysis.run import analyze
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.verdicts.calibration import SCENARIOS, simulate_population, simulated_verdicts

FAST = AnalysisOptions(repeats=150, random_samples=20)


@pytest.fixture(scope="module")
def simulated():
    """Verdicts on a few simulated populations per scenario, through the real analysis (fast options)."""
    found = {}
    for name in ("no-effect", "seen", "paper"):
        found[name] = [simulated_verdicts(SCENARIOS[name], seed, FAST) for seed in range(3)]
    return found


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_no_effect_is_not_called_reproduced(simulated):
    for run in simulated["no-effect"]:
        assert run["1"] != verdicts.REPRODUCED and run["2a"] != verdicts.REPRODUCED
        assert run["2"] != verdicts.REPRODUCED and run["3a"] != verdicts.REPRODUCED


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_planted_effects_are_found(simulated):
    for run in simulated["seen"]:
        assert run["1"] == run["2a"] == verdicts.REPRODUCED
        assert run["2"] != verdicts.REPRODUCED  # PIEs of images the dense models get right are not harder
    for run in simulated["paper"]:
        assert run["2"] == run["3a"] == run["3b"] == verdicts.REPRODUCED
        assert run["2l"] == verdicts.NOT_REPRODUCED  # hard PIEs at the top level: low-sparsity ones are easier


def test_class_level_table_by_hand():
    summary = pd.DataFrame(
        {
            "sparsity": [0.5, 0.9],
            "correction": ["none", "none"],
            "k_dense": [10, 10],
            "k_sparse": [10, 10],
            "n_significant": [1, 6],
        }
    )
    calibration = pd.DataFrame({"correction": "none", "n_significant": [0] * 95 + [1] * 4 + [2]})
    table = verdicts.class_level_table(summary, calibration).set_index("sparsity")
    assert table.loc[0.5, "p_value"] == pytest.approx((1 + 5) / 101)
    assert table.loc[0.9, "p_value"] == pytest.approx(1 / 101)
    assert table.loc[0.9, "p_holm"] == pytest.approx(2 / 101)  # Holm: the smallest p times the 2 levels


def test_class_equivalence_matches_two_one_sided_tests():
    tests = pd.DataFrame(
        {
            "sparsity": [0.9, 0.9],
            "correction": "none",
            "normalized_recall_difference": [0.002, -0.004],
            "standard_error": [0.003, 0.002],
            "df": [15.0, 12.0],
        }
    )
    margin = verdicts.CLASS_MARGIN
    expected = max(
        max(scipy_stats.t.sf((d + margin) / se, df), scipy_stats.t.cdf((d - margin) / se, df))
        for d, se, df in [(0.002, 0.003, 15.0), (-0.004, 0.002, 12.0)]
    )
    assert verdicts.class_equivalence(tests)["p_equivalent"].iloc[0] == pytest.approx(expected)


def test_trend_is_exact_over_orderings():
    up, down = verdicts.trend_p([0.1, 0.3, 0.5, 0.7, 0.9], [1, 2, 3, 4, 5])
    assert up == pytest.approx(1 / 120) and down == pytest.approx(1.0)
    up, _ = verdicts.trend_p([0.1, 0.5, 0.9], [5, 5, 5])
    assert up == 1.0  # ties: every ordering is as extreme
    assert np.isnan(verdicts.trend_p([0.1, 0.9], [1, 2])[0])


def robustness_table(dense_means, sparse_means, k=10, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for sparsity, means in ((0.0, dense_means), (0.9, sparse_means)):
        for model in range(k):
            for name, mean in means.items():
                rows.append((sparsity, model, name, mean + 0.005 * rng.standard_normal()))
    return pd.DataFrame(rows, columns=["sparsity", "model", "corruption", "relative_top1"])


def test_robustness_rule_directions():
    same = {"gaussian_noise": 0.9, "fog": 0.5}
    worse = {"gaussian_noise": 0.8, "fog": 0.5}
    mixed = {"gaussian_noise": 0.8, "fog": 0.6}
    better = {"gaussian_noise": 0.95, "fog": 0.55}
    for sparse, expected in (
        (worse, verdicts.REPRODUCED),
        (mixed, verdicts.MIXED),
        (better, verdicts.NOT_REPRODUCED),
        (same, verdicts.NOT_REPRODUCED),  # equivalent within the margin: evidence of absence
    ):
        verdict, detail = verdicts.corruption_finding(robustness_table(same, sparse), range(10))
        assert verdict.verdict == expected, (sparse, verdict.statistic)
        assert {"mean", "noise", "weather"} <= set(detail["hypothesis"])
    noisy = robustness_table(same, same).assign(relative_top1=lambda t: t["relative_top1"] * 0 + 0.5)
    noisy.loc[noisy["sparsity"] == 0.9, "relative_top1"] += np.linspace(-0.2, 0.2, 20)  # no equivalence
    noisy.loc[noisy["sparsity"] == 0.0, "relative_top1"] += np.linspace(-0.2, 0.2, 20)
    assert verdicts.corruption_finding(noisy, range(10))[0].verdict == verdicts.INCONCLUSIVE
    assert verdicts.corruption_finding(None, range(10))[0].verdict == verdicts.NOT_EVALUATED


def test_robustness_aa_rate_is_low_without_effect():
    table = robustness_table({"gaussian_noise": 0.9, "fog": 0.5}, {"gaussian_noise": 0.9, "fog": 0.5}, k=20)
    values = verdicts.corruption_values(table[table["sparsity"] == 0])
    rate = verdicts.robustness_aa_rate(values, range(20), 10, repeats=40)
    assert rate["splits"] == 40 and rate["reproduced"] <= 0.1


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_verdict_texts_name_sizes_and_levels(simulated):
    tables = analyze(simulate_population(SCENARIOS["seen"], 0), FAST)
    found = {v.label: v for v in verdicts.analysis_verdicts(tables)}
    assert "K = 10 dense vs 10 sparse" in found["1"].sizes and found["1"].rests_on
    assert "held-out dense" in found["2"].sizes and "%" in found["2"].statistic
    assert all(v.sizes for v in found.values())
    assert set(found) == {"1", "1t", "1r", "2a", "2", "2t", "2l"}


def test_a_null_with_few_distinct_values_gives_no_p_value():
    counts = pd.DataFrame({"sparsity": [0.9], "k_dense": [1], "k_sparse": [1], "n_pie": [50]})
    floor = pd.DataFrame({"n_pie": [40] * 50, "held_out_top1": [0.5] * 50})  # one set, drawn 50 times
    permutations = pd.DataFrame({"sparsity": 0.9, "n_pie": [40, 50] * 25, "held_out_top1": [0.5, 0.6] * 25})
    evaluation = pd.DataFrame(
        {
            "pie_sparsity": [0.9],
            "scorer": ["dense held-out"],
            "subset": ["pie"],
            "top1_mean": [0.3],
            "k": [1],
            "p_below_random": [0.01],
        }
    )
    levels = verdicts.pie_level_table(counts, floor, evaluation, permutations)
    assert levels[["p_count", "p_harder", "p_easier", "p_equivalent"]].isna().all(axis=None)
    assert verdicts.pie_finding(levels, counts).verdict == verdicts.INCONCLUSIVE


def test_rise_vs_fall_counts_significant_classes_against_the_splits():
    summary = pd.DataFrame(
        {
            "sparsity": [0.9],
            "correction": ["none"],
            "k_dense": [10],
            "k_sparse": [10],
            "n_increase": [6],
            "n_decrease": [0],
        }
    )
    calibration = pd.DataFrame(
        {"correction": "none", "n_significant": [1, 0, 2, 1] * 25, "n_increase": [1, 0, 1, 0] * 25}
    )
    verdict = verdicts.rise_vs_fall(summary, calibration)
    assert verdict.verdict == verdicts.REPRODUCED and "6 significant classes rise and 0 fall" in verdict.statistic
    summary["n_increase"], summary["n_decrease"] = 0, 6
    assert verdicts.rise_vs_fall(summary, calibration).verdict == verdicts.NOT_REPRODUCED


def test_a_natural_adversarial_set_enters_claim_3b_relative_to_clean_accuracy():
    rng = np.random.default_rng(1)
    adversarial = pd.DataFrame(
        [(s, m, "fgsm", 0.03, 0.5 + 0.005 * rng.standard_normal(), 0.9) for s in (0.0, 0.9) for m in range(10)],
        columns=["sparsity", "model", "attack", "epsilon", "top1", "clean_top1"],
    )
    natural = pd.DataFrame(
        [("ImageNet-A", s, m, 0.2 if s else 0.3, 0.4, np.nan) for s in (0.0, 0.9) for m in range(10)],
        columns=["set", "sparsity", "model", "top1", "top5", "top1_restricted"],
    )
    natural["top1"] += 0.001 * rng.standard_normal(len(natural))
    accuracies = pd.DataFrame({"sparsity": natural["sparsity"], "model": natural["model"], "top1": 0.8, "top5": 0.9})
    tables = {"adversarial_accuracy": adversarial, "natural_accuracy": natural}
    found, details = verdicts.robustness_verdicts(tables, DenseSplit(10, 10), model_accuracies=accuracies)
    assert "ImageNet-A" in set(details["3b"]["hypothesis"])
    assert found[-1].verdict == verdicts.REPRODUCED and "ImageNet-A" in found[-1].statistic
    without, details = verdicts.robustness_verdicts(tables, DenseSplit(10, 10))
    assert "ImageNet-A" not in set(details["3b"]["hypothesis"])
