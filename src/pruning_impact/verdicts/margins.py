"""The equivalence margins, each on this population's own scale by a stated rule, and how the verdicts move
when every margin is halved or doubled (the method chapter's sensitivity table)."""

from __future__ import annotations

import pandas as pd

from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.verdicts import judge
from pruning_impact.verdicts.class_rules import class_margin
from pruning_impact.verdicts.pie_rules import SPECIFIC_MARGIN_SDS, pie_margin, pie_specific_levels
from pruning_impact.verdicts.robustness_rules import ROBUSTNESS_MARGIN_SDS, corruption_values, group_tests

SCALES = (0.5, 1.0, 2.0)
"""The margins' multipliers in the sensitivity table."""


def margin_table(
    tables: dict[str, pd.DataFrame], robustness: dict[str, pd.DataFrame] | None, split: DenseSplit
) -> pd.DataFrame:
    """Each equivalence margin: the claims it serves, the rule that derives it and its value here (in points
    of accuracy; the robustness margin of the mean over corruptions, each hypothesis has its own)."""
    rows = [
        (
            "1",
            "mean over dense-vs-dense splits of the largest |normalized class difference|",
            class_margin(tables["aa_calibration"]),
        ),
        (
            "2",
            "half the distance between the held-out dense top-1 on all images and on dense-vs-dense disagreement sets",
            pie_margin(tables["pie_hardness"], tables["pie_noise_floor"]),
        ),
    ]
    specific = pie_specific_levels(tables)
    rows.append(
        (
            "2s",
            f"{SPECIFIC_MARGIN_SDS:g} standard deviations of the dense-vs-dense sets' margin-matched residual",
            float(specific["margin"].iloc[0]) if len(specific) else float("nan"),
        )
    )
    corruption = (robustness or {}).get("corruption_accuracy")
    value = float("nan")
    if corruption is not None and len(corruption):
        reference = range(split.reference.start, split.reference.stop)
        tests = group_tests(corruption_values(corruption), reference, float(corruption["sparsity"].max()))
        value = float(tests.loc[tests["hypothesis"] == "mean", "margin"].iloc[0])
    rows.append(
        ("3a, 3b, 3n", f"{ROBUSTNESS_MARGIN_SDS:g} standard deviation(s) of the dense reference models' values", value)
    )
    return pd.DataFrame(rows, columns=["claims", "rule", "margin"]).assign(points=lambda t: 100 * t["margin"])


def margin_sensitivity(
    tables: dict[str, pd.DataFrame],
    robustness: dict[str, pd.DataFrame] | None,
    split: DenseSplit,
    alpha: float = 0.05,
    model_accuracies: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every verdict with every margin multiplied by each of ``SCALES``: one row per claim, one column per
    scale, and whether the verdict depends on the margin."""
    columns = {}
    for scale in SCALES:
        found = judge.analysis_verdicts(tables, alpha, scale)
        if robustness:
            found += judge.robustness_verdicts(robustness, split, alpha, model_accuracies, scale)[0]
        columns[f"margin x{scale:g}"] = {v.label: v.verdict for v in found}
    table = pd.DataFrame(columns).rename_axis("claim").reset_index()
    table["depends on the margin"] = table[list(columns)].nunique(axis=1) > 1
    return table
