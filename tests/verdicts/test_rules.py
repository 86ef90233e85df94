import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from pruning_impact import verdicts
from pruning_impact.analysis.run import analyze
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.verdicts import calibration, claims, class_rules

FAST = AnalysisOptions(repeats=150, random_samples=20)
SMALL_FIT = dataclasses.replace(calibration.DEFAULT_FIT, k=10, k_dense=30, n=4000)


@pytest.fixture(scope="module")
def simulated():
    """Verdicts on a few simulated populations per scenario, through the real analysis (fast options)."""
    planned = calibration.scenarios(SMALL_FIT)
    return {
        name: [
            {
                label: verdict
                for label, (verdict, _) in calibration.simulated_verdicts(SMALL_FIT, planned[name], seed, FAST).items()
            }
            for seed in range(3)
        ]
        for name in ("no-effect", "seen-x2", "paper", "figure-4", "random-pies")
    }


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_no_effect_is_not_called_reproduced(simulated):
    for run in simulated["no-effect"]:
        for claim in ("1", "1t", "2a", "2s", "2t", "2l"):
            assert run[claim] != verdicts.REPRODUCED, claim
        assert run["2"] == verdicts.REPRODUCED  # chance disagreement sets are hard: the claim holds by itself
    for run in simulated["random-pies"]:  # claim 2's own null: PIEs that are random images
        assert run["2"] != verdicts.REPRODUCED


def test_robustness_rules_rarely_call_no_effect_reproduced():
    fit = dataclasses.replace(calibration.DEFAULT_FIT, k=10, k_dense=30)
    no_effect = calibration.scenarios(fit)["no-effect"]
    found = [
        {
            v.label: v.verdict
            for v in verdicts.robustness_verdicts(
                calibration.simulate_robustness(fit, no_effect, seed), DenseSplit(30, 10)
            )[0]
        }
        for seed in range(100)
    ]
    for claim in ("3a", "3a-all", "3b", "3c"):
        assert sum(run[claim] == verdicts.REPRODUCED for run in found) <= 8, claim  # alpha = 0.05: 5 expected


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_planted_effects_are_found(simulated):
    for run in simulated["seen-x2"]:
        assert run["1"] == run["2a"] == verdicts.REPRODUCED
    for run in simulated["paper"]:
        assert run["2"] == run["2s"] == run["3a"] == run["3b"] == verdicts.REPRODUCED
    for run in simulated["figure-4"]:
        assert run["2l"] == verdicts.REPRODUCED


def test_class_level_table_by_hand():
    summary = pd.DataFrame(
        {
            "sparsity": [0.5, 0.9],
            "correction": ["none", "none"],
            "k_dense": [10, 10],
            "k_sparse": [10, 10],
            "n_significant": [1, 6],
            "n_increase": [1, 4],
            "n_decrease": [0, 2],
        }
    )
    calibration = pd.DataFrame({"correction": "none", "n_significant": [0] * 95 + [1] * 4 + [2]})
    table = verdicts.class_level_table(summary, calibration).set_index("sparsity")
    assert table.loc[0.5, "p_value"] == pytest.approx((1 + 5) / 101)
    assert table.loc[0.9, "p_value"] == pytest.approx(1 / 101)
    assert table.loc[0.9, "p_holm"] == pytest.approx(2 / 101)  # Holm: the smallest p times the 2 levels
    # with permutations, each level is judged against its own re-splits
    permutations = pd.DataFrame({"sparsity": [0.5] * 50 + [0.9] * 50, "n_significant": [1] * 50 + [7] * 50})
    table = verdicts.class_level_table(summary, calibration, permutations).set_index("sparsity")
    assert table.loc[0.5, "p_value"] == pytest.approx(1.0) and table.loc[0.9, "p_value"] == pytest.approx(1.0)
    assert table.loc[0.9, "permuted_mean"] == 7 and table.loc[0.9, "aa_mean"] == pytest.approx(0.06)


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
    margin = 0.01
    expected = max(
        max(scipy_stats.t.sf((d + margin) / se, df), scipy_stats.t.cdf((d - margin) / se, df))
        for d, se, df in [(0.002, 0.003, 15.0), (-0.004, 0.002, 12.0)]
    )
    assert verdicts.class_equivalence(tests, margin)["p_equivalent"].iloc[0] == pytest.approx(expected)


def test_class_margin_is_the_mean_largest_dense_vs_dense_difference():
    aa = pd.DataFrame({"correction": ["none", "none", "fdr_bh"], "max_abs_difference": [0.01, 0.03, 0.5]})
    assert verdicts.class_margin(aa) == pytest.approx(0.02)
    assert verdicts.class_margin(aa, scale=2) == pytest.approx(0.04)


def test_impact_beyond_noise_takes_the_sampling_noise_out():
    tests = pd.DataFrame(
        {
            "sparsity": [0.5] * 3 + [0.9] * 3,
            "class": [0, 1, 2] * 2,
            "correction": "none",
            "normalized_recall_difference": [0.01, -0.01, 0.0, 0.03, -0.03, 0.0],
            "standard_error": [0.01] * 3 + [0.02] * 3,
        }
    )
    impact = verdicts.impact_beyond_noise(tests)
    assert impact.loc[0, 0.5] == pytest.approx(0.01**2 - 0.01**2)
    assert impact.loc[1, 0.9] == pytest.approx(0.03**2 - 0.02**2)
    assert impact.loc[2, 0.9] == pytest.approx(-(0.02**2))
    # standardized by its spread with no effect, sqrt(2) se^2, so that noisier levels do not spread wider
    standardized = verdicts.impact_beyond_noise(tests, standardized=True)
    assert standardized.loc[1, 0.9] == pytest.approx((0.03**2 - 0.02**2) / (np.sqrt(2) * 0.02**2))


def test_within_class_trend_finds_growth_and_not_noise():
    rng = np.random.default_rng(0)
    levels = [0.1, 0.3, 0.5, 0.7, 0.9]
    growing = pd.DataFrame(np.outer(np.ones(10), [0, 0, 1, 2, 4]) + rng.normal(0, 0.5, (10, 5)), columns=levels)
    up, down = class_rules.within_class_trend_p(growing)
    assert up < 0.01 and down > 0.9
    flat = pd.DataFrame(rng.normal(0, 1, (10, 5)), columns=levels)
    assert 0.05 < class_rules.within_class_trend_p(flat)[0] < 0.95
    # with one class, the permutation distribution is that of the 120 orderings: the exact trend test
    single = growing.iloc[:1]
    assert class_rules.within_class_trend_p(single)[0] == pytest.approx(
        verdicts.trend_p(levels, single.to_numpy()[0])[0], abs=0.01
    )


def class_levels_by_hand(n_increase, n_decrease, p_holm=0.01):
    return pd.DataFrame(
        {
            "sparsity": [0.9],
            "k_dense": [10],
            "k_sparse": [10],
            "n_increase": [n_increase],
            "n_decrease": [n_decrease],
            "p_holm": [p_holm],
        }
    )


def test_rise_vs_fall_is_a_sign_test_on_the_significant_classes():
    verdict = verdicts.rise_vs_fall(class_levels_by_hand(6, 0))
    assert verdict.verdict == verdicts.REPRODUCED
    assert f"{scipy_stats.binomtest(6, 6, 0.5, 'greater').pvalue:.2g}" in verdict.statistic
    assert verdicts.rise_vs_fall(class_levels_by_hand(0, 6)).verdict == verdicts.NOT_REPRODUCED
    assert verdicts.rise_vs_fall(class_levels_by_hand(5, 3)).verdict == verdicts.INCONCLUSIVE  # p = 0.36
    # a surplus of rises among few significant classes cannot reach alpha: not testable, not inconclusive
    assert verdicts.rise_vs_fall(class_levels_by_hand(3, 1)).verdict == verdicts.NOT_TESTABLE
    # no level beyond chance (claim 1): there is no set of affected classes to take a direction from
    assert verdicts.rise_vs_fall(class_levels_by_hand(6, 0, p_holm=0.5)).verdict == verdicts.NOT_TESTABLE


def test_trend_is_exact_over_orderings():
    up, down = verdicts.trend_p([0.1, 0.3, 0.5, 0.7, 0.9], [1, 2, 3, 4, 5])
    assert up == pytest.approx(1 / 120) and down == pytest.approx(1.0)
    up, _ = verdicts.trend_p([0.1, 0.5, 0.9], [5, 5, 5])
    assert up == 1.0  # ties: every ordering is as extreme
    assert np.isnan(verdicts.trend_p([0.1, 0.9], [1, 2])[0])
    # three levels have six orderings: the smallest p is 1/6, so the trend rule says it cannot test
    verdict = claims.trend_verdict("2t", [0.1, 0.5, 0.9], [1, 2, 3], "PIEs", 0.05, 0.01)
    assert verdict.verdict == verdicts.NOT_TESTABLE and "6 orderings" in verdict.statistic


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
    ):
        verdict, detail = verdicts.corruption_finding(robustness_table(same, sparse), range(10))
        assert verdict.verdict == expected, (sparse, verdict.statistic)
        assert {"mean", "noise", "weather"} <= set(detail["hypothesis"])
    # equivalent within three dense standard deviations: evidence of absence
    verdict, _ = verdicts.corruption_finding(robustness_table(same, same, k=20), range(20), margin_scale=3)
    assert verdict.verdict == verdicts.NOT_REPRODUCED and "equivalence" in verdict.statistic
    # one corruption significantly better, the rest worse: mixed, even when no family is better
    several = {"gaussian_noise": 0.9, "shot_noise": 0.9, "speckle_noise": 0.9, "impulse_noise": 0.9, "fog": 0.5}
    one_better = {**{k: v - 0.1 for k, v in several.items()}, "impulse_noise": 1.0}
    verdict, detail = verdicts.corruption_finding(robustness_table(several, one_better), range(10))
    assert verdict.verdict == verdicts.MIXED and "impulse_noise" in verdict.statistic
    assert (detail.query("kind == 'summary'")["direction"] != "more robust").all()
    # the margin is on the dense models' own scale: with a tiny margin equivalence fails
    verdict, _ = verdicts.corruption_finding(robustness_table(same, same), range(10), margin_scale=0.01)
    assert verdict.verdict == verdicts.INCONCLUSIVE
    noisy = robustness_table(same, same).assign(relative_top1=lambda t: t["relative_top1"] * 0 + 0.5)
    noisy.loc[noisy["sparsity"] == 0.9, "relative_top1"] += np.linspace(-0.2, 0.2, 20)  # no equivalence
    noisy.loc[noisy["sparsity"] == 0.0, "relative_top1"] += np.linspace(-0.002, 0.002, 20)  # tight dense side
    assert verdicts.corruption_finding(noisy, range(10))[0].verdict == verdicts.INCONCLUSIVE
    assert verdicts.corruption_finding(None, range(10))[0].verdict == verdicts.NOT_EVALUATED


def test_robustness_aa_rate_is_low_without_effect():
    table = robustness_table({"gaussian_noise": 0.9, "fog": 0.5}, {"gaussian_noise": 0.9, "fog": 0.5}, k=20)
    values = verdicts.corruption_values(table[table["sparsity"] == 0])
    rate = verdicts.robustness_aa_rate(values, range(20), 10, repeats=40)
    assert rate["splits"] == 40 and rate["reproduced"] <= 0.1


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_verdict_texts_name_sizes_and_levels(simulated):
    population = calibration.simulate_population(SMALL_FIT, calibration.scenarios(SMALL_FIT)["seen"], 0)
    found = {v.label: v for v in verdicts.analysis_verdicts(analyze(population, FAST))}
    assert "K = 10 dense vs 10 sparse" in found["1"].sizes and found["1"].rests_on
    assert "held-out dense" in found["2"].sizes and "%" in found["2"].statistic
    assert all(v.sizes for v in found.values() if v.verdict != verdicts.NOT_TESTABLE)
    assert set(found) == {"1", "1t", "1r", "2a", "2", "2s", "2t", "2l"}


def test_a_null_with_few_distinct_values_gives_no_p_value():
    counts = pd.DataFrame({"sparsity": [0.9], "k_dense": [1], "k_sparse": [1], "n_pie": [50]})
    floor = pd.DataFrame({"n_pie": [40] * 50, "held_out_top1": [0.5] * 50})  # one set, drawn 50 times
    permutations = pd.DataFrame({"sparsity": 0.9, "n_pie": [40, 50] * 25, "held_out_top1": [0.5, 0.6] * 25})
    levels = verdicts.pie_level_table(counts, floor, permutations)
    assert levels["p_count"].isna().all()
    assert verdicts.pie_count_finding(levels, counts).verdict == verdicts.INCONCLUSIVE


def hardness_rows(dense_hard, sparse_hard, n_pie=100, hard_all=1000, n=10_000):
    """A ``pie.pie_hardness`` table for one level with the hypergeometric p-values computed here."""
    rows = []
    for scorer, hard in (("dense held-out", dense_hard), ("sparse held-out", sparse_hard)):
        rows.append(
            {
                "pie_sparsity": 0.9,
                "scorer": scorer,
                "k": 10,
                "n_pie": n_pie,
                "n_test": n,
                "top1_pie": 1 - hard / n_pie,
                "top1_non_pie": 0.9,
                "top1_all": 0.9,
                "random_se": 0.02,
                "hard_pie": hard,
                "hard_all": hard_all,
                "p_harder": scipy_stats.hypergeom.sf(hard - 1, n, hard_all, n_pie),
                "p_easier": scipy_stats.hypergeom.cdf(hard, n, hard_all, n_pie),
            }
        )
    return pd.DataFrame(rows)


def test_claim_2_needs_pies_harder_for_both_held_out_groups():
    counts = pd.DataFrame({"sparsity": [0.9], "k_dense": [10], "k_sparse": [10], "n_pie": [100]})
    both = verdicts.pie_finding(claims_hardness(hardness_rows(40, 40)), counts)
    assert both.verdict == verdicts.REPRODUCED and "random samples" in both.statistic
    only_dense = verdicts.pie_finding(claims_hardness(hardness_rows(40, 10)), counts)
    assert only_dense.verdict == verdicts.INCONCLUSIVE
    # as hard as random images, within the margin: evidence of absence
    like_random = verdicts.pie_finding(claims_hardness(hardness_rows(10, 10), margin=0.1), counts)
    assert like_random.verdict == verdicts.NOT_REPRODUCED
    easier = verdicts.pie_finding(claims_hardness(hardness_rows(0, 0)), counts)
    assert easier.verdict == verdicts.NOT_REPRODUCED and "easier at 90%" in easier.statistic


def claims_hardness(rows, margin=0.05):
    return verdicts.pie_hardness_table(rows, margin)


def test_claim_2s_compares_residuals_at_matched_margins_and_needs_claim_2a():
    rng = np.random.default_rng(0)
    floor = pd.DataFrame(
        {
            "n_pie": 100,
            "held_out_top1": 0.5,
            **{f"n_{b}": [30, 40, 30][b] for b in range(3)},
            **{f"hits_{b}": (rate * 30 + rng.normal(0, 1, 200)) for b, rate in enumerate((0.3, 0.5, 0.7))},
        }
    )
    floor["n_1"] = 40
    floor["hits_1"] = 0.5 * 40 + rng.normal(0, 1, 200)
    empty = pd.DataFrame()
    # PIE_t at the chance sets' rates but made of near-split images only: not harder once matched
    margins = pd.DataFrame({"sparsity": [0.9], "n_pie": [100], "n_0": [100], "hits_0": [30.0]})
    for b in (1, 2):
        margins[f"n_{b}"], margins[f"hits_{b}"] = 0, 0.0
    specific = verdicts.pie_specific_levels(
        {"pie_margins": margins, "pie_noise_floor": floor, "pie_permutations": empty, "pie_sparse_floor": empty}
    )
    assert specific["residual"].iloc[0] == pytest.approx(30 / 100 - floor["hits_0"].sum() / floor["n_0"].sum())
    counted = pd.DataFrame({"sparsity": [0.9], "p_count_holm": [0.01]})
    verdict = verdicts.pie_specific_finding(specific, counted)
    assert verdict.verdict in (verdicts.NOT_REPRODUCED, verdicts.INCONCLUSIVE)
    harder = margins.assign(hits_0=10.0)
    specific = verdicts.pie_specific_levels(
        {"pie_margins": harder, "pie_noise_floor": floor, "pie_permutations": empty, "pie_sparse_floor": empty}
    )
    assert verdicts.pie_specific_finding(specific, counted).verdict == verdicts.REPRODUCED
    no_excess = counted.assign(p_count_holm=0.5)
    assert verdicts.pie_specific_finding(specific, no_excess).verdict == verdicts.NOT_TESTABLE


def test_noise_costliest_compares_within_model_contrasts():
    names = {"gaussian_noise": 0.9, "defocus_blur": 0.9, "fog": 0.5, "contrast": 0.6}
    noise_loses = {**names, "gaussian_noise": 0.7}
    verdict, tests = verdicts.noise_costliest(robustness_table(names, noise_loses), range(10))
    assert verdict.verdict == verdicts.REPRODUCED and set(tests["family"]) == {"blur", "weather", "digital"}
    fog_loses = {**names, "fog": 0.3}
    assert verdicts.noise_costliest(robustness_table(names, fog_loses), range(10))[0].verdict == (
        verdicts.NOT_REPRODUCED
    )
    assert verdicts.noise_costliest(None, range(10))[0].verdict == verdicts.NOT_EVALUATED


def test_a_natural_adversarial_set_is_its_own_claim_relative_to_clean_accuracy():
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
    found = {v.label: v for v in found}
    assert "ImageNet-A" not in set(details["3b"]["hypothesis"]) and "white-box" in found["3b"].statistic
    assert found["3n"].verdict == verdicts.REPRODUCED and "ImageNet-A" in set(details["3n"]["hypothesis"])
    without, _ = verdicts.robustness_verdicts(tables, DenseSplit(10, 10))
    assert {v.label: v.verdict for v in without}["3n"] == verdicts.NOT_EVALUATED
