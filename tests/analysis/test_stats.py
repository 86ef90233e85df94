import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import (
    adjust_p_values,
    calibration_summary,
    chance_level,
    class_accuracies,
    class_level_summary,
    class_level_tests,
    class_permutations,
    model_accuracies,
    null_calibration,
    topline_table,
)
from pruning_impact.foundations.top_k import top_k_classes

LABELS = np.array([0, 0, 1, 1, 1, 2])


def test_accuracies_by_hand():
    predictions = np.array([[0, 1, 1, 1, 0, 2], [0, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(model_accuracies(predictions, LABELS), [4 / 6, 2 / 6])
    np.testing.assert_allclose(class_accuracies(predictions, LABELS, 3), [[0.5, 2 / 3, 1.0], [1.0, 0.0, 0.0]])
    # the paper's beta^M is the class accuracies weighted by class size
    beta_c = class_accuracies(predictions, LABELS, 3)
    np.testing.assert_allclose(beta_c @ np.bincount(LABELS) / len(LABELS), model_accuracies(predictions, LABELS))


def test_class_without_examples_is_nan():
    acc = class_accuracies(np.array([[0, 1]]), np.array([0, 1]), 3)
    assert np.isnan(acc[0, 2]) and acc[0, 0] == 1.0


def random_population(rng, k, labels, accuracy, num_classes):
    """Each model is right with probability ``accuracy[c]`` on an example of class c, else a random wrong label."""
    p = np.asarray(accuracy)[labels]
    right = rng.random((k, len(labels))) < p
    wrong = (labels + rng.integers(1, num_classes, (k, len(labels)))) % num_classes
    return np.where(right, labels, wrong)


def test_agrees_with_scipy_called_directly():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    dense = random_population(rng, 7, labels, [0.9, 0.8, 0.7, 0.6], 4)
    sparse = random_population(rng, 5, labels, [0.85, 0.8, 0.6, 0.6], 4)
    table = class_level_tests(dense, sparse, labels, 4)
    for c in range(4):
        s0 = [np.mean(d[labels == c] == c) - np.mean(d == labels) for d in dense]
        st = [np.mean(s[labels == c] == c) - np.mean(s == labels) for s in sparse]
        expected = scipy_stats.ttest_ind(st, s0, equal_var=False)
        row = table.iloc[c]
        assert row["t_statistic"] == pytest.approx(expected.statistic)
        assert row["p_value"] == pytest.approx(expected.pvalue)
        assert row["normalized_recall_difference"] == pytest.approx(np.mean(st) - np.mean(s0))
        assert row["absolute_recall_difference"] == pytest.approx(
            np.mean([np.mean(s[labels == c] == c) for s in sparse])
            - np.mean([np.mean(d[labels == c] == c) for d in dense])
        )
        assert row["significant"] == (expected.pvalue <= 0.05)
    assert {
        "class",
        "dense_class_accuracy",
        "sparse_class_accuracy",
        "t_statistic",
        "p_value",
        "significant",
        "normalized_recall_difference",
        "absolute_recall_difference",
    } <= set(table.columns)


def test_planted_effects_are_found():
    rng = np.random.default_rng(1)
    num_classes = 10
    labels = np.repeat(np.arange(num_classes), 300)
    base = np.full(num_classes, 0.85)
    shifted = base.copy()
    shifted[2] -= 0.15  # class 2 hurt by pruning
    shifted[7] += 0.10  # class 7 helped
    dense = random_population(rng, 20, labels, base, num_classes)
    sparse = random_population(rng, 20, labels, shifted, num_classes)
    table = class_level_tests(dense, sparse, labels, num_classes, correction="bonferroni")
    assert set(table.loc[table["significant"], "class"]) == {2, 7}
    assert table.loc[2, "normalized_recall_difference"] < -0.1 and table.loc[7, "normalized_recall_difference"] > 0.05
    summary, tests = class_level_summary(dense, {0.9: sparse}, labels, num_classes, corrections=("bonferroni",))
    row = summary.iloc[0]
    assert (row["n_increase"], row["n_decrease"]) == (1, 1)
    assert row["largest_increase_class"] == "7" and row["largest_decrease_class"] == "2"
    assert row["model_accuracy_difference"] == pytest.approx((sparse == labels).mean() - (dense == labels).mean())
    assert len(tests) == num_classes


def test_false_positive_rate_is_near_alpha_without_effect():
    rng = np.random.default_rng(2)
    num_classes = 10
    labels = np.repeat(np.arange(num_classes), 100)
    hits = tests = 0
    for _ in range(60):
        dense = random_population(rng, 8, labels, np.full(num_classes, 0.8), num_classes)
        sparse = random_population(rng, 8, labels, np.full(num_classes, 0.8), num_classes)
        table = class_level_tests(dense, sparse, labels, num_classes)
        hits += int(table["significant"].sum())
        tests += num_classes
    assert 0.02 < hits / tests < 0.09


def test_undefined_tests_are_nan_and_not_significant():
    labels = np.array([0, 0, 1, 1])
    same = np.array([[0, 0, 1, 1]] * 3)  # zero variance everywhere
    table = class_level_tests(same, same, labels, 2)
    assert table["p_value"].isna().all() and not table["significant"].any()
    one_model = class_level_tests(same, same[:1], labels, 2)
    assert one_model["p_value"].isna().all() and not one_model["significant"].any()


def test_corrections():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5])
    np.testing.assert_allclose(adjust_p_values(p, "bonferroni"), [0.04, 0.16, 0.12, np.nan, 1.0])
    # Benjamini-Hochberg by hand: sorted 0.01, 0.03, 0.04, 0.5 -> *4/rank = 0.04, 0.06, 0.0533, 0.5 -> monotone
    np.testing.assert_allclose(adjust_p_values(p, "fdr_bh"), [0.04, 0.0533333, 0.0533333, np.nan, 0.5], rtol=1e-5)
    np.testing.assert_allclose(adjust_p_values(p, None), p)
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p_values(p, "holm-ish")


def test_null_calibration_counts_chance_significance():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(10), 100)
    dense = random_population(rng, 16, labels, np.full(10, 0.8), 10)
    calibration = null_calibration(dense, labels, 10, half_size=8, repeats=10, seed=0)
    assert len(calibration) == 20 and set(calibration["correction"]) == {"none", "fdr_bh"}
    summary = calibration_summary(calibration).set_index("correction")
    assert summary.loc["none", "mean"] < 2.5  # about alpha * C = 0.5 expected
    assert summary.loc["fdr_bh", "mean"] <= summary.loc["none", "mean"]
    again = null_calibration(dense, labels, 10, half_size=8, repeats=10, seed=0)
    pd.testing.assert_frame_equal(calibration, again)


def test_topline_table():
    labels = np.array([0, 1, 2, 3])
    top1 = {0.0: np.array([[0, 1, 2, 3], [0, 1, 2, 0]]), 0.5: np.array([[0, 0, 0, 0], [0, 1, 0, 0]])}
    top5 = {0.0: np.stack([top1[0.0], (top1[0.0] + 1) % 4], axis=2), 0.5: np.stack([top1[0.5], top1[0.5] + 2], axis=2)}
    table = topline_table(top1, labels, top5).set_index("sparsity")
    assert table.loc[0.0, "top1_mean"] == pytest.approx(0.875)
    assert table.loc[0.0, "top1_std"] == pytest.approx(np.std([1.0, 0.75], ddof=1))
    assert table.loc[0.0, "top5_mean"] == pytest.approx(0.875)  # label 3 of model 2 is in neither guess
    assert table.loc[0.5, "top5_mean"] == pytest.approx((0.5 + 0.75) / 2)
    assert table.loc[0.5, "k"] == 2


@pytest.mark.parametrize(
    "dense, sparse, labels, message",
    [
        (np.zeros((3, 5), int), np.zeros((3, 4), int), np.zeros(5, int), "line up"),
        (np.zeros((3, 5), int), np.zeros((3, 5), int), np.full(5, 7), "outside"),
        (np.zeros((3, 5)), np.zeros((3, 5), int), np.zeros(5, int), "integer"),
        (np.zeros(5, int), np.zeros((3, 5), int), np.zeros(5, int), r"\[K models, N examples\]"),
    ],
)
def test_bad_inputs_are_value_errors(dense, sparse, labels, message):
    with pytest.raises(ValueError, match=message):
        class_level_tests(dense, sparse, labels, 3)


def test_calibration_needs_enough_dense_models():
    with pytest.raises(ValueError, match="K >= 4"):
        null_calibration(np.zeros((1, 4), int), np.zeros(4, int), 2)
    with pytest.raises(ValueError, match="two disjoint groups"):
        null_calibration(np.zeros((6, 4), int), np.zeros(4, int), 2, half_size=4)


def test_top_k_classes_by_hand():
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 2.0, 1.0, 0.0]])
    top = top_k_classes(scores, 3)
    assert top.tolist() == [[1, 3, 2], [0, 1, 2]] and top.dtype == np.int16  # ties: the smaller class first
    assert top_k_classes(scores, 9).shape == (2, 4)
    assert top_k_classes(np.zeros((1, 40_000)), 1).dtype == np.int32


def test_chance_level():
    calibration = pd.DataFrame(
        {"repeat": [0, 0, 1, 1], "correction": ["none", "fdr_bh"] * 2, "half_size": 3, "n_significant": [2, 0, 4, 1]}
    )
    assert chance_level(calibration) == {"mean": 3.0, "max": 4.0, "half_size": 3, "repeats": 2}
    assert chance_level(calibration, "fdr_bh")["mean"] == 0.5
    empty = chance_level(calibration.iloc[:0])
    assert np.isnan(empty["mean"]) and empty["repeats"] == 0


def test_top_k_classes_equals_a_full_stable_sort_with_many_classes_and_ties():
    rng = np.random.default_rng(3)
    for scores in (rng.normal(size=(500, 300)), np.round(rng.normal(size=(500, 300)), 1)):  # rare and frequent ties
        scores[::5, 7] = scores[::5, 9]
        np.testing.assert_array_equal(top_k_classes(scores, 5), np.argsort(-scores, axis=1, kind="stable")[:, :5])


def test_the_population_shift_against_scipy_by_hand():
    from pruning_impact.analysis.stats import class_level_tests

    labels = np.array([0, 0, 1, 1])
    dense = np.array([[0, 0, 1, 0], [0, 1, 1, 1], [0, 0, 0, 1]])  # accuracies 3/4, 3/4, 3/4
    sparse = np.array([[0, 0, 1, 1], [1, 0, 1, 1], [1, 1, 1, 1]])  # accuracies 1, 3/4, 1/2
    dense_class0, sparse_class0 = np.array([1, 0.5, 1]), np.array([1, 0.5, 0])
    dense_accuracy, sparse_accuracy = np.array([0.75, 0.75, 0.75]), np.array([1, 0.75, 0.5])
    for shift, dense_by, sparse_by in (
        ("model", dense_accuracy, sparse_accuracy),
        ("population", dense_accuracy.mean(), sparse_accuracy.mean()),
    ):
        table = class_level_tests(dense, sparse, labels, 2, shift=shift).set_index("class")
        expected = scipy_stats.ttest_ind(sparse_class0 - sparse_by, dense_class0 - dense_by, equal_var=False)
        assert table.loc[0, "t_statistic"] == pytest.approx(expected.statistic)
        assert table.loc[0, "p_value"] == pytest.approx(expected.pvalue)
    # the normalized difference does not depend on the shift; the test does
    model = class_level_tests(dense, sparse, labels, 2, shift="model").set_index("class")
    population = class_level_tests(dense, sparse, labels, 2, shift="population").set_index("class")
    assert model.loc[0, "normalized_recall_difference"] == pytest.approx(
        population.loc[0, "normalized_recall_difference"]
    )
    assert model.loc[0, "p_value"] != pytest.approx(population.loc[0, "p_value"])


def test_empirical_p_and_holm_by_hand():
    from pruning_impact.analysis.stats import empirical_p, holm

    null = np.array([1.0, 2.0, 3.0, 4.0])
    assert empirical_p(3.0, null, "greater") == pytest.approx(3 / 5)  # 3 and 4 are as extreme, plus one
    assert empirical_p(0.5, null, "less") == pytest.approx(1 / 5)
    assert np.isnan(empirical_p(1.0, np.array([np.nan])))
    adjusted = holm([0.01, 0.04, np.nan, 0.03])
    np.testing.assert_allclose(adjusted[[0, 3, 1]], [0.03, 0.06, 0.06])  # 3 tests: 0.01x3, max(0.03x2, .), 0.04x1
    assert np.isnan(adjusted[2])


def test_the_aa_calibration_equals_the_class_test_on_each_split():
    from pruning_impact.analysis.stats import class_level_tests, disjoint_splits, null_calibration

    rng = np.random.default_rng(4)
    labels = rng.integers(0, 4, 300)
    dense = np.where(rng.random((10, 300)) < 0.8, labels, rng.integers(0, 4, (10, 300)))
    calibration = null_calibration(dense, labels, 4, 4, repeats=6, seed=2, corrections=(None, "fdr_bh"))
    for repeat, (a, b) in enumerate(disjoint_splits(10, 4, 6, 2)):
        for correction in (None, "fdr_bh"):
            expected = class_level_tests(dense[a], dense[b], labels, 4, correction=correction)["significant"].sum()
            row = calibration[(calibration["repeat"] == repeat) & (calibration["correction"] == (correction or "none"))]
            assert int(row["n_significant"].iloc[0]) == expected


def test_steepest_step_by_hand():
    from pruning_impact.analysis.stats import steepest_step

    top1 = pd.Series([0.90, 0.90, 0.89, 0.85], index=[0.0, 0.5, 0.7, 0.9])
    step = steepest_step(top1.sample(frac=1, random_state=0))  # order does not matter
    assert (step["from"], step["to"]) == (0.7, 0.9) and step["cost"] == pytest.approx(0.2)
    assert np.isnan(steepest_step(pd.Series([0.9], index=[0.0]))["cost"])


def test_class_permutations_test_each_re_split_as_the_real_pair():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 5, 300)
    reference = np.where(rng.random((6, 300)) < 0.8, labels, (labels + 1) % 5)
    sparse = np.where(rng.random((4, 300)) < 0.7, labels, (labels + 2) % 5)
    null = class_permutations(reference, sparse, labels, 5, repeats=12, seed=3)
    assert len(null) == 12 and (null["n_increase"] + null["n_decrease"] == null["n_significant"]).all()
    # each row is the class test of one re-split: recompute the first
    pool = np.concatenate([reference, sparse])
    order = np.random.default_rng(3).permutation(10)
    table = class_level_tests(pool[order[:6]], pool[order[6:]], labels, 5)
    assert null["n_significant"].iloc[0] == table["significant"].sum()
    assert null["max_abs_difference"].iloc[0] == pytest.approx(table["normalized_recall_difference"].abs().max())
