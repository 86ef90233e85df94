import numpy as np
import pytest
from scipy import stats as sps

from pruning_impact.analysis.disparity import (
    auc,
    cev_sde,
    cev_sde_floor,
    error_rates,
    relative_change,
    relative_error_changes,
    taxicab_scores,
)


def test_error_rates_by_hand():
    labels = np.array([0, 0, 1, 1, 2])
    predictions = np.array([[0, 1, 1, 1, 2], [0, 0, 2, 1, 1]])
    fpr, fnr = error_rates(predictions, labels, 3)
    # class 0: 4 examples (2 x 2 models) -> 1 missed; negatives 6 -> predicted 0 wrongly: never
    # class 1: 4 examples -> 1 missed (model 2, example 2); negatives 6 -> predicted 1 wrongly: twice
    # class 2: 2 examples -> 1 missed; negatives 8 -> predicted 2 wrongly: once
    assert fnr == pytest.approx([1 / 4, 1 / 4, 1 / 2])
    assert fpr == pytest.approx([0 / 6, 2 / 6, 1 / 8])
    # pooled over models = the mean of the models' own rates
    per_model = [error_rates(p[None], labels, 3) for p in predictions]
    assert fpr == pytest.approx(np.mean([m[0] for m in per_model], axis=0))


def test_relative_change_where_the_dense_rate_is_zero():
    out = relative_change(np.array([0.2, 0.0, 0.0]), np.array([0.3, 0.0, 0.1]))
    assert out[0] == pytest.approx(0.5) and out[1] == 0.0 and np.isnan(out[2])


def test_cev_and_sde_by_hand():
    labels = np.repeat(np.arange(3), 4)
    dense = np.array([labels.copy(), labels.copy()])
    dense[0, [0, 4, 8]] = [1, 2, 0]  # one miss per class in model 0: every class has a dense FNR and FPR
    compressed = dense.copy()
    compressed[1, [1, 2]] = 1  # class 0 loses two more images to class 1
    d_fpr, d_fnr = error_rates(dense, labels, 3)
    c_fpr, c_fnr = error_rates(compressed, labels, 3)
    dfpr, dfnr = (c_fpr - d_fpr) / d_fpr, (c_fnr - d_fnr) / d_fnr
    expected_cev = np.mean((dfpr - dfpr.mean()) ** 2 + (dfnr - dfnr.mean()) ** 2)
    expected_sde = np.mean(np.abs(dfnr - dfpr))
    # class 0: FNR 1/8 -> 3/8 (+2), FPR unchanged; class 1: FPR 1/16 -> 3/16 (+2), FNR unchanged; class 2: 0, 0
    assert dfnr == pytest.approx([2, 0, 0]) and dfpr == pytest.approx([0, 2, 0])
    measures = cev_sde(dense, compressed, labels, 3)
    assert (
        measures["cev"]
        == pytest.approx(expected_cev)
        == pytest.approx(np.mean([(2 - 2 / 3) ** 2 + (2 / 3) ** 2] * 2 + [2 * (2 / 3) ** 2]))
    )
    assert measures["sde"] == pytest.approx(expected_sde) == pytest.approx(4 / 3)
    assert measures["undefined_classes"] == 0
    points = relative_error_changes(dense, compressed, labels, 3)
    assert points[0] == pytest.approx([0, 2, 0]) and points[1] == pytest.approx([2, 0, 0])


def test_classes_without_dense_errors_are_left_out_and_counted():
    labels = np.repeat(np.arange(3), 4)
    dense = np.array([labels.copy()])
    dense[0, 0] = 1  # dense errors: class 0's FNR (1/4) and class 1's FPR (1/8) only
    compressed = dense.copy()
    compressed[0, 8] = 0  # a class-2 image called class 0: class 2's FNR and class 0's FPR rise from zero
    measures = cev_sde(dense, compressed, labels, 3)
    assert measures["undefined_classes"] == 2  # classes 0 and 2; class 1 is unchanged (0 and 0)
    assert measures["cev"] == 0.0 and measures["sde"] == 0.0
    nothing = cev_sde(dense, dense, labels, 3)  # zero stays zero: a change of 0, defined
    assert nothing["undefined_classes"] == 0 and nothing["cev"] == 0.0 and nothing["sde"] == 0.0


def test_taxicab_by_hand():
    dense = np.array([[0, 1, 2], [0, 1, 2]])
    compressed = np.array([[0, 1, 1], [0, 2, 0]])
    # example 0: same; example 1: {1: 1} vs {1: .5, 2: .5} -> 1; example 2: {2: 1} vs {1: .5, 0: .5} -> 2
    assert taxicab_scores(dense, compressed, 3).tolist() == pytest.approx([0.0, 1.0, 2.0])


def test_auc_matches_mann_whitney():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=200), 1)  # ties included
    members = rng.random(200) < 0.3
    u = sps.mannwhitneyu(scores[members], scores[~members]).statistic
    assert auc(scores, members) == pytest.approx(u / (members.sum() * (~members).sum()))
    assert auc(np.arange(4), np.array([False, False, True, True])) == 1.0
    assert np.isnan(auc(np.arange(3), np.zeros(3, bool)))


def _population(rng, k, labels, accuracy):
    """K models that get each example right with a class-dependent probability, wrong to a random class."""
    right = rng.random((k, len(labels))) < accuracy[labels]
    wrong = (labels + rng.integers(1, accuracy.size, (k, len(labels)))) % accuracy.size
    return np.where(right, labels, wrong)


def test_cev_against_its_floor_on_simulated_populations():
    """Calibration of the rule the methods chapter reads (above the floor's 97.5th percentile): rarely met when
    the compressed models are drawn like the dense ones, nearly always when one class is planted to fail more."""
    labels = np.repeat(np.arange(10), 100)
    accuracy = np.full(10, 0.85)
    planted = accuracy.copy()
    planted[3] = 0.6
    hits = {"null": 0, "planted": 0}
    simulations = 40
    for i in range(simulations):
        rng = np.random.default_rng(i)
        dense = _population(rng, 10, labels, accuracy)
        floor = cev_sde_floor(dense, labels, 10, 5, 40, i)["cev"].quantile(0.975)
        reference = dense[:5]
        hits["null"] += cev_sde(reference, _population(rng, 5, labels, accuracy), labels, 10)["cev"] > floor
        hits["planted"] += cev_sde(reference, _population(rng, 5, labels, planted), labels, 10)["cev"] > floor
    assert hits["null"] / simulations <= 0.15
    assert hits["planted"] / simulations >= 0.9


def test_taxicab_ranks_a_planted_set_first():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 2000)
    dense = _population(rng, 10, labels, np.full(10, 0.9))
    compressed = _population(rng, 10, labels, np.full(10, 0.9))
    planted = np.zeros(2000, bool)
    planted[:100] = True
    compressed[:, planted] = (labels[planted] + 1) % 10  # the compressed models change their mind there
    assert auc(taxicab_scores(dense, compressed, 10), planted) > 0.95
    null = _population(rng, 10, labels, np.full(10, 0.9))
    assert abs(auc(taxicab_scores(dense, null, 10), planted) - 0.5) < 0.1
