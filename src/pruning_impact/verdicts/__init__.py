"""Verdicts on the paper's claims, each from this population's tables by a rule fixed in code.

Every rule has the same shape. A claim is *reproduced* when its calibrated test rejects "no effect"
at ``alpha`` after Holm's correction over the levels (or corruption families) it looks at; *not
reproduced* only with evidence of absence: a significant effect the other way, or an equivalence test
(two one-sided tests) showing the effect smaller than a stated margin; *mixed* when both directions are
significant in different places; *not testable here* when the test cannot reach ``alpha`` at these
sizes or what the claim presupposes does not hold; *inconclusive* otherwise. Each rule's error rates,
with no effect, under nulls of the wrong kind and with planted effects, are measured by
``calibration.calibrate`` (``benchmarks/verdict_calibration.py``).

The null distributions come from the dense population itself, split by position
(``foundations.dense_split``) and computed by the analysis (``analysis.run``): splits of the first 2K
dense models give the class-count and PIE-count floors, and the held-out dense models score PIE_t and
the floor sets alike, so no set is scored by a model that chose it.

The claims, the verdicts' words and what the rules share are in ``claims``; the rules, by the claims they
judge: ``class_rules``, ``pie_rules``, ``robustness_rules``; ``judge`` applies them all; ``margins`` states
the equivalence margins (each derived from the population) and how verdicts move with them; ``calibration``
measures the rules' error rates on populations simulated like the one judged; ``stability`` measures how
often resampled populations repeat each verdict; ``paper`` holds the paper's reported numbers and
``paper_vs_book`` sets ours beside them. The names below are the rules' public API, for notebooks and
tests that use the verdicts as one namespace (``from pruning_impact import verdicts``).
"""

from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    MIXED,
    NOT_EVALUATED,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Verdict,
    evidence_table,
    trend_p,
    verdict_table,
)
from pruning_impact.verdicts.class_rules import (
    class_equivalence,
    class_finding,
    class_level_table,
    class_margin,
    class_trend,
    impact_beyond_noise,
    rise_vs_fall,
)
from pruning_impact.verdicts.judge import analysis_verdicts, class_levels, robustness_verdicts
from pruning_impact.verdicts.pie_rules import (
    low_sparsity_hardest,
    pie_count_finding,
    pie_finding,
    pie_hardness_levels,
    pie_hardness_table,
    pie_level_table,
    pie_levels,
    pie_margin,
    pie_specific_finding,
    pie_specific_levels,
    pie_specific_table,
    pie_trend,
)
from pruning_impact.verdicts.robustness_rules import (
    FAMILIES,
    ROBUSTNESS_MARGIN_SDS,
    adversarial_finding,
    corruption_finding,
    corruption_values,
    natural_adversarial_finding,
    natural_relative_of,
    noise_costliest,
    robustness_aa_rate,
    robustness_calibration,
)

__all__ = [
    "CLAIMS",
    "FAMILIES",
    "INCONCLUSIVE",
    "MIXED",
    "NOT_EVALUATED",
    "NOT_REPRODUCED",
    "NOT_TESTABLE",
    "REPRODUCED",
    "ROBUSTNESS_MARGIN_SDS",
    "Verdict",
    "adversarial_finding",
    "analysis_verdicts",
    "class_equivalence",
    "class_finding",
    "class_level_table",
    "class_levels",
    "class_margin",
    "class_trend",
    "corruption_finding",
    "corruption_values",
    "evidence_table",
    "impact_beyond_noise",
    "low_sparsity_hardest",
    "natural_adversarial_finding",
    "natural_relative_of",
    "noise_costliest",
    "pie_count_finding",
    "pie_finding",
    "pie_hardness_levels",
    "pie_hardness_table",
    "pie_level_table",
    "pie_levels",
    "pie_margin",
    "pie_specific_finding",
    "pie_specific_levels",
    "pie_specific_table",
    "pie_trend",
    "rise_vs_fall",
    "robustness_aa_rate",
    "robustness_calibration",
    "robustness_verdicts",
    "trend_p",
    "verdict_table",
]
