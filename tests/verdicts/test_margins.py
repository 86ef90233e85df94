import dataclasses

import numpy as np
import pandas as pd
import pytest

from pruning_impact.analysis.run import analyze
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.verdicts import calibration, margins

FAST = AnalysisOptions(repeats=40, permutations=60, random_samples=5)
FIT = dataclasses.replace(calibration.DEFAULT_FIT, k=6, k_dense=18, n=1000)


@pytest.fixture(scope="module")
def tables():
    scenario = calibration.scenarios(FIT)["seen"]
    return analyze(calibration.simulate_population(FIT, scenario, 0), FAST)


def same_means(spread_dense: float, spread_sparse: float, k: int = 6) -> dict[str, pd.DataFrame]:
    """Corruption tables with equal means dense and sparse, each group of k models spread evenly around them
    (the dense reference and its partners alike)."""
    rows = []
    for sparsity, shifts in (
        (0.0, np.tile(np.linspace(-spread_dense, spread_dense, k), 2)),
        (0.9, np.linspace(-spread_sparse, spread_sparse, k)),
    ):
        for model, shift in enumerate(shifts):
            for name, mean in (("gaussian_noise", 0.9), ("fog", 0.5)):
                rows.append((sparsity, model, name, 1, mean + shift))
    table = pd.DataFrame(rows, columns=["sparsity", "model", "corruption", "severity", "relative_top1"])
    return {"corruption_accuracy": table}


def test_margins_come_from_the_population_by_their_rules(tables):
    split = DenseSplit(12, 6)
    table = margins.margin_table(tables, same_means(0.02, 0.02), split).set_index("claims")
    aa = tables["aa_calibration"].query("correction == 'none'")["max_abs_difference"].mean()
    assert table.loc["1", "margin"] == pytest.approx(aa)
    dense = tables["pie_hardness"].query("scorer == 'dense held-out'")["top1_all"].iloc[0]
    assert table.loc["2", "margin"] == pytest.approx(0.5 * (dense - tables["pie_noise_floor"]["held_out_top1"].mean()))
    # one dense standard deviation of the mean over corruptions (the reference: models 0-5)
    reference = np.linspace(-0.02, 0.02, 6)
    assert table.loc["3a, 3b, 3n", "margin"] == pytest.approx(reference.std(ddof=1))
    assert (table["points"] == 100 * table["margin"]).all()


def test_sensitivity_shows_verdicts_that_rest_on_the_margin(tables):
    # equal means, a wider sparse spread: equivalent within a wide margin, not within a narrow one
    robustness = same_means(0.02, 0.02)
    table = margins.margin_sensitivity(tables, robustness, DenseSplit(12, 6)).set_index("claim")
    assert list(table.columns) == ["margin x0.5", "margin x1", "margin x2", "depends on the margin"]
    row = table.loc["3a-all"]
    assert row["margin x2"] == "not reproduced" and row["margin x0.5"] == "inconclusive"
    assert row["depends on the margin"]
    assert not table.loc["2a", "depends on the margin"]  # no margin in a count's test
