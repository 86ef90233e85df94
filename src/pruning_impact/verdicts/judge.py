"""Every claim judged from a population's tables: the analysis's (claims 1 to 2l) and the robustness
evaluation's (3a to 3n), in the order the book shows them. ``margin_scale`` multiplies every equivalence
margin (the method chapter's sensitivity table judges at half and double)."""

from __future__ import annotations

import pandas as pd

from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.verdicts import paper
from pruning_impact.verdicts.claims import CLAIMS, NOT_EVALUATED, Verdict
from pruning_impact.verdicts.class_rules import class_finding, class_level_table, class_trend, rise_vs_fall
from pruning_impact.verdicts.pie_rules import (
    low_sparsity_hardest,
    pie_count_finding,
    pie_finding,
    pie_hardness_levels,
    pie_levels,
    pie_specific_finding,
    pie_specific_levels,
    pie_trend,
)
from pruning_impact.verdicts.robustness_rules import (
    adversarial_finding,
    corruption_finding,
    natural_adversarial_finding,
    natural_relative_of,
    noise_costliest,
)

RULES_CODE = (
    "pruning_impact.verdicts.claims",
    "pruning_impact.verdicts.class_rules",
    "pruning_impact.verdicts.pie_rules",
    "pruning_impact.verdicts.robustness_rules",
    __name__,
    "pruning_impact.verdicts.paper",
    "pruning_impact.robustness.tables",
)
"""The modules every verdict is computed by: a cache of verdicts or of their error rates hashes them."""


def class_levels(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``class_level_table`` from the analysis tables."""
    return class_level_table(tables["class_summary"], tables["aa_calibration"], tables.get("class_permutations"))


def analysis_verdicts(tables: dict[str, pd.DataFrame], alpha: float = 0.05, margin_scale: float = 1.0) -> list[Verdict]:
    """Every verdict that the analysis tables support (claims 1, 1t, 1r, 2a, 2, 2s, 2t, 2l)."""
    levels = pie_levels(tables)
    by_class = class_levels(tables)
    summary, tests, aa = tables["class_summary"], tables["class_tests"], tables["aa_calibration"]
    return [
        class_finding(summary, tests, aa, alpha, tables.get("class_permutations"), margin_scale),
        class_trend(tests, by_class, alpha),
        rise_vs_fall(by_class, alpha),
        pie_count_finding(levels, tables["pie_counts"], alpha),
        pie_finding(pie_hardness_levels(tables, margin_scale), tables["pie_counts"], alpha),
        pie_specific_finding(pie_specific_levels(tables, margin_scale), levels, alpha),
        pie_trend(levels, alpha),
        low_sparsity_hardest(tables["pie_evaluation"], tables["pie_low_vs_high"], levels, alpha),
    ]


def robustness_verdicts(
    tables: dict[str, pd.DataFrame],
    split: DenseSplit,
    alpha: float = 0.05,
    model_accuracies: pd.DataFrame | None = None,
    margin_scale: float = 1.0,
) -> tuple[list[Verdict], dict[str, pd.DataFrame]]:
    """Claims 3a (Table 5's corruptions, then all), 3c, 3b and 3n from the robustness tables; the dense side
    is the reference models of ``split`` (the population's ``dense_split``). With the analysis's
    ``model_accuracies``, a natural adversarial set (ImageNet-A) is judged relative to clean accuracy (3n).
    Returns the verdicts and their per-hypothesis tests by label."""
    reference = range(split.reference.start, split.reference.stop)
    corruption, adversarial = tables.get("corruption_accuracy"), tables.get("adversarial_accuracy")
    found, details = [], {}
    present = [] if corruption is None or corruption.empty else list(set(corruption["corruption"]))
    table5 = [name for name in paper.TABLE5_CORRUPTIONS if name in present]
    for label, chosen, what in (
        ("3a", table5, f"on the {len(table5)} of Table 5's corruptions evaluated here"),
        ("3a-all", None, f"on all {len(present)} corruptions"),
    ):
        if label == "3a" and not table5:
            found.append(Verdict(label, CLAIMS[label], NOT_EVALUATED, "none of Table 5's corruptions was evaluated"))
            continue
        verdict, detail = corruption_finding(corruption, reference, alpha, chosen, label, what, margin_scale)
        found.append(verdict)
        details[label] = detail
    for label, (verdict, detail) in (
        ("3c", noise_costliest(corruption, reference, alpha)),
        ("3b", adversarial_finding(adversarial, reference, alpha, margin_scale)),
        (
            "3n",
            natural_adversarial_finding(natural_relative_of(tables, model_accuracies), reference, alpha, margin_scale),
        ),
    ):
        found.append(verdict)
        details[label] = detail
    return found, details
