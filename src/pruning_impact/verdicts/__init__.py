"""Verdicts on the paper's claims, each from this population's tables by a rule fixed in code.

Every rule has the same shape. A claim is *reproduced* when its calibrated test rejects "no effect"
at ``alpha`` after Holm's correction over the levels (or corruption families) it looks at; *not
reproduced* only with evidence of absence: a significant effect the other way, or an equivalence test
(two one-sided tests) showing the effect smaller than a stated margin; *mixed* when both directions are
significant in different places; *inconclusive* otherwise. Each rule's error rates, with no effect
and with planted effects, are measured by ``calibration.calibrate`` (``benchmarks/verdict_calibration.py``).

The null distributions come from the dense population itself, split by position
(``foundations.dense_split``) and computed by the analysis (``analysis.run``): splits of the first 2K
dense models give the class-count and PIE-count floors, and the held-out dense models score PIE_t and
the floor sets alike, so no set is scored by a model that chose it.

The claims, the verdicts' words and what the rules share are in ``claims``; the rules, by the claims they
judge: ``class_rules``, ``pie_rules``, ``robustness_rules``; ``judge`` applies them all; ``calibration`` measures their error rates; ``paper`` holds the paper's reported numbers and
``paper_vs_book`` sets ours beside them. The names below are the rules' public API, for notebooks and
tests that use the verdicts as one namespace (``from pruning_impact import verdicts``).
"""

from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    MIXED,
    NOT_EVALUATED,
    NOT_REPRODUCED,
    REPRODUCED,
    Verdict,
    trend_p,
    verdict_table,
)
from pruning_impact.verdicts.class_rules import (
    CLASS_MARGIN,
    CLASS_MARGIN_SPARSITY,
    class_equivalence,
    class_finding,
    class_level_table,
    class_trend,
    rise_vs_fall,
)
from pruning_impact.verdicts.judge import analysis_verdicts, robustness_verdicts
from pruning_impact.verdicts.pie_rules import (
    PIE_MARGIN,
    low_sparsity_hardest,
    pie_count_finding,
    pie_finding,
    pie_level_table,
    pie_levels,
    pie_trend,
)
from pruning_impact.verdicts.robustness_rules import (
    FAMILIES,
    ROBUSTNESS_MARGIN,
    adversarial_finding,
    corruption_finding,
    corruption_values,
    natural_relative_of,
    robustness_aa_rate,
    robustness_calibration,
)

__all__ = [
    "CLAIMS",
    "CLASS_MARGIN",
    "CLASS_MARGIN_SPARSITY",
    "FAMILIES",
    "INCONCLUSIVE",
    "MIXED",
    "NOT_EVALUATED",
    "NOT_REPRODUCED",
    "PIE_MARGIN",
    "REPRODUCED",
    "ROBUSTNESS_MARGIN",
    "Verdict",
    "adversarial_finding",
    "analysis_verdicts",
    "class_equivalence",
    "class_finding",
    "class_level_table",
    "class_trend",
    "corruption_finding",
    "corruption_values",
    "low_sparsity_hardest",
    "natural_relative_of",
    "pie_count_finding",
    "pie_finding",
    "pie_level_table",
    "pie_levels",
    "pie_trend",
    "rise_vs_fall",
    "robustness_aa_rate",
    "robustness_calibration",
    "robustness_verdicts",
    "trend_p",
    "verdict_table",
]
