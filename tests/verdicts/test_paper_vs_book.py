import numpy as np
import pandas as pd

from pruning_impact.verdicts import paper_vs_book


def test_paper_vs_book_puts_both_on_one_scale():
    toplines = pd.DataFrame(
        {"sparsity": [0.0, 0.9], "top1_mean": [0.9, 0.88], "n_significant_none": [np.nan, 2], "n_pie": [np.nan, 150]}
    )
    side = paper_vs_book.paper_vs_book(toplines, 10, 10_000, "here")
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
    table = paper_vs_book.class_summary_vs_paper(summary, "here").set_index("t")
    assert table.loc[0.9, "# incr. / # decr. (here)"] == "2 / 3"
    assert table.loc[0.1, "# incr. / # decr. (here)"] == "-" and np.isnan(table.loc[0.1, "model acc. diff. (here)"])
    assert table.loc[0.9, "# incr. / # decr. (paper)"] == "2 / 0"  # the paper's Table 4


def test_robustness_vs_paper_uses_the_most_sparse_level():
    table5 = pd.DataFrame(
        {"corruption": ["fog", "fog", "snowfall"], "sparsity": [0.0, 0.7, 0.0], "relative_top1": [0.9, 0.8, 0.5]}
    )
    table = paper_vs_book.robustness_vs_paper(table5, "here")
    assert table["corruption"].tolist() == ["fog"]
    assert table.iloc[0]["here, t = 70%"] == 0.8 and table.iloc[0]["ImageNet-C, t = 90% (paper)"] == 0.6942


def test_shifts_vs_paper_counts_both_shifts_beside_the_paper():
    shifts = pd.DataFrame(
        {
            "sparsity": [0.9, 0.9],
            "n_significant": [3, 1],
            "n_increase": [2, 1],
            "n_decrease": [1, 0],
            "shift": ["model", "population"],
        }
    )
    table = paper_vs_book.shifts_vs_paper(shifts, "here").set_index("t")
    assert table.loc[0.9, "here, shift: model"] == "3 (2 / 1)"
    assert table.loc[0.9, "here, shift: population"] == "1 (1 / 0)"
    assert table.loc[0.9, "ImageNet (paper)"] == "582 (337 / 245)"  # the paper's Table 1
    assert table.loc[0.1, "here, shift: model"] == "-"
