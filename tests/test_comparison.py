import numpy as np
import pandas as pd

from pruning_impact import comparison


def summary(n_none, n_fdr):
    return pd.DataFrame({"sparsity": [0.9, 0.9], "correction": ["none", "fdr_bh"], "n_significant": [n_none, n_fdr]})


def calibration(values_none, values_fdr):
    return pd.DataFrame(
        {
            "correction": ["none"] * len(values_none) + ["fdr_bh"] * len(values_fdr),
            "n_significant": list(values_none) + list(values_fdr),
        }
    )


def test_class_finding_rules():
    chance = calibration([0, 1, 0, 2, 1], [0, 0, 0, 0, 0])
    assert comparison.class_finding(summary(6, 3), chance, "fdr_bh").verdict == comparison.REPRODUCED
    assert comparison.class_finding(summary(1, 0), chance, "fdr_bh").verdict == comparison.NOT_REPRODUCED
    assert comparison.class_finding(summary(4, 0), chance, "fdr_bh").verdict == comparison.INCONCLUSIVE
    assert "at most 0" in comparison.class_finding(summary(6, 3), chance, "fdr_bh").statistic


def pie_tables(n_pie, floor, pie_acc, random_acc):
    counts = pd.DataFrame({"sparsity": [0.5, 0.9], "n_pie": [n_pie // 2, n_pie]})
    noise = pd.DataFrame({"n_pie": floor})
    rows = []
    for t in (0.5, 0.9):
        for model_t in (0.0, t):
            rows += [
                {"pie_sparsity": t, "model_sparsity": model_t, "subset": "pie", "top1_mean": pie_acc},
                {
                    "pie_sparsity": t,
                    "model_sparsity": model_t,
                    "subset": "random",
                    "top1_mean": random_acc,
                    "ci_low": random_acc - 0.01,
                },
            ]
    return counts, noise, pd.DataFrame(rows)


def test_pie_finding_rules():
    assert comparison.pie_finding(*pie_tables(200, [20, 30, 25], 0.4, 0.9)).verdict == comparison.REPRODUCED
    assert comparison.pie_finding(*pie_tables(200, [20, 30, 25], 0.95, 0.9)).verdict == comparison.NOT_REPRODUCED
    assert comparison.pie_finding(*pie_tables(25, [20, 30, 25], 0.4, 0.9)).verdict == comparison.INCONCLUSIVE


def test_robustness_finding_rules():
    assert comparison.robustness_finding(None).verdict == comparison.NOT_EVALUATED
    rng = np.random.default_rng(0)

    def table(dense_mean, sparse_mean):
        return pd.DataFrame(
            {
                "sparsity": [0.0] * 8 + [0.9] * 8,
                "model": list(range(8)) * 2,
                "relative_top1": np.r_[rng.normal(dense_mean, 0.01, 8), rng.normal(sparse_mean, 0.01, 8)],
            }
        )

    assert comparison.robustness_finding(table(0.8, 0.7)).verdict == comparison.REPRODUCED
    assert comparison.robustness_finding(table(0.7, 0.8)).verdict == comparison.NOT_REPRODUCED


def test_paper_vs_book_puts_both_on_one_scale():
    toplines = pd.DataFrame(
        {"sparsity": [0.0, 0.9], "top1_mean": [0.9, 0.88], "n_significant_none": [np.nan, 2], "n_pie": [np.nan, 150]}
    )
    side = comparison.paper_vs_book(toplines, 10, 10_000, "here")
    ours = side[side["source"] == "here"].set_index("sparsity")
    assert ours.loc[0.9, "pie_fraction"] == 0.015 and ours.loc[0.9, "significant_class_fraction"] == 0.2
    assert abs(ours.loc[0.9, "top1_change"] + 0.02) < 1e-12
    imagenet = side[side["source"] == "ImageNet (paper)"].set_index("sparsity")
    assert abs(imagenet.loc[0.9, "pie_fraction"] - 5136 / 50_000) < 1e-12


def test_class_summary_vs_paper_lines_up_by_sparsity():
    summary = pd.DataFrame(
        {
            "sparsity": [0.5, 0.9, 0.9],
            "correction": ["none", "none", "fdr_bh"],
            "model_accuracy_difference": [-0.01, -0.03, -0.03],
            "n_increase": [1, 2, 0],
            "n_decrease": [0, 3, 0],
        }
    )
    table = comparison.class_summary_vs_paper(summary, "here").set_index("t")
    assert table.loc[0.9, "# incr. / # decr. (here)"] == "2 / 3"
    assert table.loc[0.1, "# incr. / # decr. (here)"] == "-" and np.isnan(table.loc[0.1, "model acc. diff. (here)"])
    assert table.loc[0.9, "# incr. / # decr. (paper)"] == "2 / 0"  # the paper's Table 4


def test_robustness_vs_paper_uses_the_most_sparse_level():
    table5 = pd.DataFrame(
        {"corruption": ["fog", "fog", "snowfall"], "sparsity": [0.0, 0.7, 0.0], "relative_top1": [0.9, 0.8, 0.5]}
    )
    table = comparison.robustness_vs_paper(table5, "here")
    assert table["corruption"].tolist() == ["fog"]
    assert table.iloc[0]["here, t = 0.70"] == 0.8 and table.iloc[0]["ImageNet-C, t = 0.9 (paper)"] == 0.6942
