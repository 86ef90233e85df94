import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from pruning_impact.analysis.pie import (
    Scorer,
    margin_profile,
    modal_labels,
    noise_floor_summary,
    permutation_floor,
    permuted_hardness_difference,
    pie_counts,
    pie_evaluation,
    pie_hardness,
    pie_mask,
    pie_noise_floor,
    sample_exemplars,
    split_modes,
)
from pruning_impact.analysis.stats import disjoint_splits


def test_modal_labels_by_hand_with_ties_to_the_largest_class():
    predictions = np.array([[1, 2, 0, 5], [1, 3, 4, 5], [2, 3, 4, 1], [2, 2, 0, 1]])
    # column 0: 1,1,2,2 tie -> 2; column 1: 2,3,3,2 tie -> 3; column 2: 0,4,4,0 tie -> 4; column 3: 5,5,1,1 -> 5
    np.testing.assert_array_equal(modal_labels(predictions), [2, 3, 4, 5])
    np.testing.assert_array_equal(modal_labels(np.array([[7, 0], [7, 1], [3, 1]])), [7, 1])


def test_modal_labels_match_pandas_mode_max():
    rng = np.random.default_rng(0)
    predictions = rng.integers(0, 6, (9, 500))
    expected = [pd.Series(predictions[:, i]).mode().max() for i in range(500)]
    np.testing.assert_array_equal(modal_labels(predictions, chunk=64), expected)


def test_a_population_against_itself_has_no_pie():
    rng = np.random.default_rng(1)
    predictions = rng.integers(0, 10, (5, 300))
    assert not pie_mask(predictions, predictions).any()
    assert not pie_mask(predictions, predictions[::-1]).any()  # model order does not matter


def test_pie_counts_and_noise_floor():
    dense = np.array([[0, 1, 2, 3]] * 4)
    sparse = np.array([[0, 1, 2, 0], [0, 1, 1, 0], [0, 1, 2, 3]])
    counts = pie_counts(dense, {0.5: sparse}).iloc[0]
    assert counts["n_pie"] == 1 and counts["pie_fraction"] == 0.25
    assert pie_noise_floor(dense, half_size=2, repeats=3)["n_pie"].tolist() == [0, 0, 0]


def test_pie_evaluation_by_hand():
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    pie = np.array([True, True, False, False, False, False, False, False])
    dense = np.array(
        [
            [1, 1, 2, 3, 0, 1, 2, 3],  # wrong on example 0 only
            [1, 0, 2, 3, 0, 1, 2, 0],
        ]
    )  # wrong on 0, 1 and 7
    scorer = Scorer("dense held-out", 0.0, dense, frozenset())
    table = pie_evaluation({0.9: pie}, [scorer], labels, repeats=50, seed=0).set_index("subset")
    assert table.loc["pie", "role"] == "held-out"
    assert table.loc["pie", "top1_mean"] == pytest.approx((0.5 + 0.0) / 2)
    assert table.loc["non_pie", "top1_mean"] == pytest.approx((1.0 + 5 / 6) / 2)
    assert table.loc["random", "n_examples"] == 2
    # the random-sample mean lies near the full-test-set accuracy
    assert table.loc["random", "top1_mean"] == pytest.approx(((7 / 8) + (5 / 8)) / 2, abs=0.1)
    assert table.loc["random", "ci_low"] <= table.loc["random", "top1_mean"] <= table.loc["random", "ci_high"]


def test_pie_evaluation_is_seeded():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 5, 200)
    preds = {0.0: rng.integers(0, 5, (4, 200)), 0.9: rng.integers(0, 5, (3, 200))}
    mask = pie_mask(preds[0.0], preds[0.9])
    scorers = [Scorer("dense", 0.0, preds[0.0], frozenset({0.9})), Scorer("sparse", 0.9, preds[0.9], frozenset({0.9}))]
    a = pie_evaluation({0.9: mask}, scorers, labels, repeats=20, seed=3)
    b = pie_evaluation({0.9: mask}, scorers, labels, repeats=20, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["model_sparsity"]) == {0.0, 0.9} and set(a["role"]) == {"defining"}
    # random samples are shared by every scorer: the same draws, so the p-values are comparable
    assert (a.loc[a["subset"] == "pie", "p_below_random"] > 0).all()


def _group_modes(modes, group: int, splits: int) -> np.ndarray:
    """The [splits, N] modes of one group, from split_modes' fixed and varying parts."""
    full = np.broadcast_to(modes.fixed, (splits, len(modes.fixed))).copy()
    full[:, modes.varying] = modes.first if group == 0 else modes.second
    return full


@pytest.mark.parametrize("classes", [2, 4, 1000])
def test_split_modes_equal_modal_labels_of_each_group(classes):
    rng = np.random.default_rng(5)
    pool = rng.integers(0, classes, (10, 300))
    pool[:, :120] = 1  # unanimous examples
    pool[:7, 120:180] = 3  # a clear majority: the same modes in every split
    splits = [rng.permutation(10)[:8] for _ in range(6)]  # groups of 3 and 5; two models left out
    modes = split_modes(pool, 3, splits)
    assert not np.isin(np.arange(120), modes.varying).any()
    a, b = _group_modes(modes, 0, 6), _group_modes(modes, 1, 6)
    for row, order in enumerate(splits):
        np.testing.assert_array_equal(a[row], modal_labels(pool[order[:3]]))
        np.testing.assert_array_equal(b[row], modal_labels(pool[order[3:]]))
        expected = (pool[order[:3]] == a[row]).mean(axis=0)[modes.varying]
        np.testing.assert_allclose(modes.share[row], expected, rtol=1e-6)


def test_split_modes_keep_the_tie_rule_on_many_small_random_pools():
    rng = np.random.default_rng(11)
    for _ in range(200):
        m, n = int(rng.integers(2, 13)), int(rng.integers(1, 30))
        pool = rng.integers(0, int(rng.choice([2, 3, 10, 1000])), (m, n)) * int(rng.choice([1, 7]))
        first = int(rng.integers(1, m))
        splits = [rng.permutation(m) for _ in range(4)]
        modes = split_modes(pool, first, splits)
        a, b = _group_modes(modes, 0, 4), _group_modes(modes, 1, 4)
        for row, order in enumerate(splits):
            np.testing.assert_array_equal(a[row], modal_labels(pool[order[:first]]))
            np.testing.assert_array_equal(b[row], modal_labels(pool[order[first:]]))


def test_split_modes_say_what_is_wrong():
    with pytest.raises(ValueError, match="integer class indices"):
        split_modes(np.zeros((4, 3)), 2, [np.arange(4)])
    with pytest.raises(ValueError, match="both groups need a model"):
        split_modes(np.zeros((4, 3), int), 4, [np.arange(4)])


def test_permutation_tables_equal_a_split_by_split_count():
    """The counts and held-out scores of the permutation and noise-floor tables are those of each split's
    groups counted one at a time by modal_labels (the definition), with many classes and with few."""
    rng = np.random.default_rng(8)
    for classes in (5, 1000):
        labels = rng.integers(0, classes, 500)
        hard = rng.random(500) < 0.3
        models = np.where(rng.random((14, 500)) < np.where(hard, 0.4, 0.9), labels, rng.integers(0, classes, (14, 500)))
        reference, sparse, scorers = models[:4], models[4:8], models[8:]
        hits = (scorers == labels).mean(axis=0)
        null = permutation_floor(reference, sparse, repeats=7, seed=2, scorers=scorers, labels=labels)
        pool = np.concatenate([reference, sparse])
        generator = np.random.default_rng(2)
        for row, order in enumerate(generator.permutation(8) for _ in range(7)):
            mask = modal_labels(pool[order[:4]]) != modal_labels(pool[order[4:]])
            assert null["n_pie"][row] == mask.sum()
            assert null["held_out_top1"][row] == pytest.approx(hits[mask].mean())
        low, high = models[4:6], models[6:8]
        difference = permuted_hardness_difference(reference, low, high, scorers, labels, repeats=6, seed=3)
        dense_modes, pooled, generator = modal_labels(reference), models[4:8], np.random.default_rng(3)
        for row, order in enumerate(generator.permutation(4) for _ in range(6)):
            a = modal_labels(pooled[order[:2]]) != dense_modes
            b = modal_labels(pooled[order[2:]]) != dense_modes
            assert difference[row] == pytest.approx(hits[a].mean() - hits[b].mean())
        floor = pie_noise_floor(models[:8], 3, repeats=5, seed=4, scorers=scorers, labels=labels)
        for row, (x, y) in enumerate(disjoint_splits(8, 3, 5, 4)):
            mask = modal_labels(models[:8][x]) != modal_labels(models[:8][y])
            assert floor["n_pie"][row] == mask.sum() and floor["pie_fraction"][row] == mask.mean()
            assert floor["held_out_top1"][row] == pytest.approx(hits[mask].mean())


def test_margin_profile_counts_and_scores_each_bin():
    masks = np.array([[True, True, False, True], [False, True, True, True]])
    shares = np.array([[0.5, 0.6, 0.9, 0.8], [0.5, 0.55, 0.75, 0.54]])
    hits = np.array([0.1, 0.2, 0.3, 0.4])
    profile = margin_profile(masks, shares, hits)
    # bins: < 0.55, [0.55, 0.75), >= 0.75
    assert profile[["n_0", "n_1", "n_2"]].to_numpy().tolist() == [[1, 1, 1], [1, 1, 1]]
    np.testing.assert_allclose(profile[["hits_0", "hits_1", "hits_2"]].to_numpy(), [[0.1, 0.2, 0.4], [0.4, 0.2, 0.3]])


def test_pie_hardness_is_fishers_exact_test_of_pie_against_the_other_images():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 400)
    scorers = np.where(rng.random((7, 400)) < 0.8, labels, (labels + 1) % 4)
    mask = np.zeros(400, dtype=bool)
    mask[rng.choice(400, 40, replace=False)] = True
    scorers[:, mask] = np.where(rng.random((7, 40)) < 0.5, labels[mask], (labels[mask] + 1) % 4)
    row = pie_hardness({0.9: mask}, {0.9: {"dense held-out": scorers}}, labels).iloc[0]
    hard = (scorers == labels).mean(axis=0) < 0.5
    table = [[hard[mask].sum(), (~hard[mask]).sum()], [hard[~mask].sum(), (~hard[~mask]).sum()]]
    assert row["p_harder"] == pytest.approx(scipy_stats.fisher_exact(table, alternative="greater").pvalue)
    assert row["p_easier"] == pytest.approx(scipy_stats.fisher_exact(table, alternative="less").pvalue)
    assert row["top1_all"] == pytest.approx((scorers == labels).mean())
    # the random-sample standard error is that of a sample of |PIE| without replacement
    draws = [(scorers == labels).mean(axis=0)[rng.choice(400, 40, replace=False)].mean() for _ in range(4000)]
    assert row["random_se"] == pytest.approx(np.std(draws), rel=0.1)


def test_permutation_floor_scores_with_the_given_models_only():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, 200)
    reference, sparse = rng.integers(0, 3, (4, 200)), rng.integers(0, 3, (4, 200))
    scorers = np.tile(labels, (2, 1))  # always right: every set scores exactly 1
    null = permutation_floor(reference, sparse, repeats=9, seed=1, scorers=scorers, labels=labels)
    assert len(null) == 9 and (null["held_out_top1"] == 1.0).all()
    again = permutation_floor(reference, sparse, repeats=9, seed=1)
    assert null["n_pie"].tolist() == again["n_pie"].tolist() and again["held_out_top1"].isna().all()
    # scorers that are always right score every set 1: the differences are exactly 0
    other = rng.integers(0, 3, (4, 200))
    assert (permuted_hardness_difference(reference, sparse, other, scorers, labels, repeats=5) == 0).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="integer"):
        modal_labels(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="same N"):
        pie_mask(np.zeros((2, 3), int), np.zeros((2, 4), int))
    with pytest.raises(ValueError, match=r"\[K >= 1"):
        modal_labels(np.zeros(3, int))


def long_examples():
    from pruning_impact.analysis.run import examples_table

    labels = np.array([0, 1, 2, 0, 1, 2])
    dense = np.array([0, 1, 2, 0, 1, 1])
    return examples_table(labels, dense, {0.9: np.array([0, 2, 2, 1, 1, 1]), 0.5: dense.copy()})


def test_examples_are_a_long_table():
    examples = long_examples()
    assert list(examples.columns) == ["example", "label", "sparsity", "modal", "is_pie"]
    assert examples.groupby("sparsity")["is_pie"].sum().to_dict() == {0.0: 0, 0.5: 0, 0.9: 2}


def test_sample_exemplars_draws_pies_and_non_pies_of_one_level():
    examples = long_examples()
    pies, others = sample_exemplars(examples, 0.9, size=3, seed=0)
    assert pies["example"].tolist() == [1, 3]  # only two PIEs exist
    assert list(pies.columns) == ["example", "label", "dense_modal", "modal"]
    assert pies.set_index("example").loc[3].tolist() == [0, 0, 1]
    assert len(others) == 3 and not set(others["example"]) & {1, 3} and others["example"].is_monotonic_increasing
    again = sample_exemplars(examples, 0.9, size=3, seed=0)[1]
    pd.testing.assert_frame_equal(others, again)
    assert sample_exemplars(examples, 0.5, size=10, seed=1)[0].empty
    with pytest.raises(ValueError, match="no examples at sparsity 0.7"):
        sample_exemplars(examples, 0.7, size=1)


def test_noise_floor_summary():
    assert noise_floor_summary(pd.DataFrame({"n_pie": [10, 20, 30]})) == {"mean": 20.0, "high": 29.5}
    empty = noise_floor_summary(pd.DataFrame(columns=["n_pie"]))
    assert np.isnan(empty["mean"]) and np.isnan(empty["high"])
