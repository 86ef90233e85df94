import numpy as np
import pandas as pd
import pytest

from pruning_impact.robustness.tables import (
    adversarial_table,
    corruption_table,
    example_flips,
    natural_relative,
    natural_table,
    per_model_relative,
    pie_flip_table,
    pie_flip_test,
    table5,
)

LABELS = np.array([0, 1, 2, 3])


def top5(*top1):
    """Top-5 rows whose first class is given and whose others never hit a label in LABELS."""
    return np.array([[t, 9, 8, 7, 6] for t in top1])


def test_corruption_table_by_hand():
    clean = {(0.0, 0): top5(0, 1, 2, 3), (0.9, 0): top5(0, 1, 2, 0)}
    corrupted = {
        (0.0, 0): {("fog", 1): top5(0, 1, 0, 0), ("fog", 5): top5(1, 1, 1, 1)},
        (0.9, 0): {("fog", 1): top5(0, 0, 0, 0), ("fog", 5): np.array([[1, 0, 9, 9, 9]] * 4)},
    }
    table = corruption_table(clean, corrupted, LABELS, {"fog": "generated"})
    assert table[["sparsity", "severity"]].values.tolist() == [[0.0, 1], [0.0, 5], [0.9, 1], [0.9, 5]]
    assert table["top1"].tolist() == [0.5, 0.25, 0.25, 0.25]
    assert table["clean_top1"].tolist() == [1.0, 1.0, 0.75, 0.75]
    assert table["top5"].tolist() == [0.5, 0.25, 0.25, 0.5]  # [1, 0, ...] holds labels 0 and 1
    assert table["relative_top1"].tolist() == pytest.approx([0.5, 0.25, 1 / 3, 1 / 3])
    assert set(table["source"]) == {"generated"}
    summary = table5(table)
    assert summary.columns.tolist() == ["corruption", "sparsity", "top1", "top5", "relative_top1", "relative_top5"]
    assert summary.set_index("sparsity").loc[0.9, "relative_top1"] == pytest.approx(1 / 3)
    # top-5, as the paper's Table 5 has it: mean over severities of top-5, and of top-5 over clean top-5
    assert summary.set_index("sparsity").loc[0.0, "top5"] == pytest.approx(0.375)
    assert summary.set_index("sparsity").loc[0.9, "top5"] == pytest.approx(0.375)
    assert summary.set_index("sparsity").loc[0.9, "relative_top5"] == pytest.approx(0.375 / 0.75)
    relative = per_model_relative(table).set_index("sparsity")["relative_top1"]
    assert relative[0.0] == pytest.approx(0.375)


def test_adversarial_table_by_hand():
    table = adversarial_table(
        {(0.0, 3): np.array([0, 1, 2, 0])},
        {(0.0, 3): {("fgsm", 0.1): np.array([0, 0, 0, 0]), ("pgd", 0.1): np.array([1, 0, 0, 0])}},
        LABELS,
    )
    assert table[["model", "attack", "top1", "clean_top1"]].values.tolist() == [
        [3, "fgsm", 0.25, 0.75],
        [3, "pgd", 0.0, 0.75],
    ]


def test_example_flips_counts_modal_label_changes():
    clean = [np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]), np.array([0, 1, 1, 3])]
    corrupted = {
        ("fog", 1): [np.array([0, 2, 2, 3]), np.array([0, 2, 2, 3]), np.array([0, 1, 2, 3])],
        ("fog", 5): [np.array([1, 2, 2, 3])] * 3,
    }
    flips = example_flips(clean, corrupted, np.array([10, 11, 12, 13]), LABELS)
    assert flips["dense_flip_rate"].tolist() == [0.5, 1.0, 0.0, 0.0]
    assert flips["index"].tolist() == [10, 11, 12, 13]


def test_natural_table_with_and_without_a_restriction():
    run = (0.5, 1)
    table = natural_table("ImageNet-A", {run: top5(0, 1, 5, 5)}, {run: LABELS}, {run: np.array([0, 1, 2, 0])})
    assert table.iloc[0][["top1", "top5", "top1_restricted"]].tolist() == [0.5, 0.5, 0.75]
    assert natural_table(None, {}, {}, {}).empty


def test_pie_flip_table_per_level():
    flips = pd.DataFrame({"index": [0, 1, 2, 3, 4, 5], "dense_flip_rate": [0.9, 0.8, 0.1, 0.0, 0.2, 0.1]})
    examples = pd.DataFrame(
        {
            "example": list(range(6)) * 2,
            "sparsity": [0.0] * 6 + [0.9] * 6,
            "is_pie": [False] * 6 + [True, True, False, False, False, False],
        }
    )
    table = pie_flip_table(flips, examples)
    assert table["sparsity"].tolist() == [0.9]
    row = table.iloc[0]
    assert (row["n_pie"], row["n_non_pie"]) == (2, 4)
    assert row["pie_flip_rate"] == pytest.approx(0.85) and row["p_value"] < 0.1
    assert np.isnan(pie_flip_test(flips, np.zeros(6, bool))["p_value"])  # no PIE: no test


def test_pie_flip_test_finds_planted_over_representation():
    rng = np.random.default_rng(0)
    index = np.arange(400)
    pie = np.zeros(1000, bool)
    pie[index[:40]] = True
    rates = np.r_[rng.uniform(0.3, 0.9, 40), rng.uniform(0.0, 0.4, 360)]
    result = pie_flip_test(pd.DataFrame({"index": index, "dense_flip_rate": rates}), pie)
    assert result["n_pie"] == 40 and result["pie_flip_rate"] > result["non_pie_flip_rate"]
    assert result["p_value"] < 1e-6


def test_table5_means_models_after_severities():
    rows = [
        # model 0 has two severities, model 1 one: the level's mean weighs each model once
        {
            "corruption": "fog",
            "sparsity": 0.5,
            "model": 0,
            "top1": 0.2,
            "top5": 0.4,
            "relative_top1": 0.4,
            "relative_top5": 0.5,
        },
        {
            "corruption": "fog",
            "sparsity": 0.5,
            "model": 0,
            "top1": 0.4,
            "top5": 0.6,
            "relative_top1": 0.6,
            "relative_top5": 0.7,
        },
        {
            "corruption": "fog",
            "sparsity": 0.5,
            "model": 1,
            "top1": 0.9,
            "top5": 1.0,
            "relative_top1": 1.0,
            "relative_top5": 1.0,
        },
    ]
    row = table5(pd.DataFrame(rows)).iloc[0]
    assert row[["top1", "top5", "relative_top1", "relative_top5"]].tolist() == pytest.approx([0.6, 0.75, 0.75, 0.8])


def test_natural_relative_by_hand():
    natural = pd.DataFrame(
        {
            "set": "ImageNet-A",
            "sparsity": [0.0, 0.0, 0.9],
            "model": [0, 1, 0],
            "top1": [0.02, 0.03, 0.01],
            "top5": [0.10, 0.12, 0.06],
            "top1_restricted": [0.2, 0.3, 0.1],
        }
    )
    clean = pd.DataFrame(
        {
            "sparsity": [0.9, 0.0, 0.0, 0.5],
            "model": [0, 1, 0, 0],  # in another order, with a model not on the set
            "clean_top1": [0.5, 0.75, 0.8, 0.7],
            "clean_top5": [0.75, 0.8, 0.9, 0.9],
        }
    )
    table = natural_relative(natural, clean)
    assert table.columns.tolist() == ["sparsity", "model", "set", "relative_top1", "relative_top5"]
    assert table[["sparsity", "model"]].values.tolist() == [[0.0, 0], [0.0, 1], [0.9, 0]]
    assert table["relative_top1"].tolist() == pytest.approx([0.02 / 0.8, 0.03 / 0.75, 0.01 / 0.5])
    assert table["relative_top5"].tolist() == pytest.approx([0.10 / 0.9, 0.12 / 0.8, 0.06 / 0.75])
    assert natural_relative(natural.iloc[:0], clean).empty
    with pytest.raises(ValueError, match="no clean accuracy for the model 0 of sparsity 0.9"):
        natural_relative(natural, clean.iloc[1:])
    with pytest.raises(ValueError, match="clean_top5"):
        natural_relative(natural, clean.drop(columns="clean_top5"))


def test_the_corruption_table_holds_each_models_clean_accuracy():
    clean = {(0.0, 0): top5(0, 1, 2, 3), (0.9, 0): top5(0, 1, 2, 0)}
    corrupted = {run: {("fog", 1): top5(0, 0, 0, 0), ("fog", 5): top5(1, 1, 1, 1)} for run in clean}
    table = corruption_table(clean, corrupted, LABELS, {"fog": "generated"})
    table = table.groupby(["sparsity", "model"], as_index=False)[["clean_top1", "clean_top5"]].first()
    assert table.values.tolist() == [[0.0, 0, 1.0, 1.0], [0.9, 0, 0.75, 0.75]]


def test_table5_has_the_papers_columns_and_corruptions():
    from pruning_impact.foundations.options import CORRUPTIONS
    from pruning_impact.verdicts import paper

    assert len(paper.TABLE5_CORRUPTIONS) == 10 and set(paper.TABLE5_CORRUPTIONS) <= set(CORRUPTIONS)
    assert tuple(dict.fromkeys(paper.IMAGENET_C_TABLE5["corruption"])) == paper.TABLE5_CORRUPTIONS
    clean = {(0.0, 0): top5(0, 1, 2, 3)}
    table = corruption_table(clean, {(0.0, 0): {("fog", 1): top5(0, 1, 0, 0)}}, LABELS, {"fog": "generated"})
    assert set(table5(table).columns) == set(paper.IMAGENET_C_TABLE5.columns)
