"""Verdicts on the robustness claims (3a, 3b): pruned models less robust to image corruptions (Table 5's,
then all of them, tested per corruption family) and to adversarial examples, from per-model values tested
between the dense reference and the most sparse level; and the rules' A/A rate on dense models."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import holm
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.levels import format_percent
from pruning_impact.robustness.tables import natural_relative
from pruning_impact.verdicts import paper
from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    MIXED,
    NOT_EVALUATED,
    NOT_REPRODUCED,
    REPRODUCED,
    Verdict,
)

_TABLE5 = paper.IMAGENET_C_TABLE5.set_index(["corruption", "sparsity"])["relative_top1"].unstack()
ROBUSTNESS_MARGIN = 0.5 * float((_TABLE5[0.0] - _TABLE5[0.9]).mean())
"""Half the paper's mean loss of relative top-1 from dense to 90% sparse over Table 5's corruptions."""
FAMILIES = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"),
    "blur": ("defocus_blur", "gaussian_blur", "glass_blur", "motion_blur", "zoom_blur"),
    "weather": ("snow", "frost", "fog", "brightness", "spatter"),
    "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression", "saturate"),
}
"""Corruption families as Hendrycks & Dietterich group them (the extra ones where a set has them)."""


def group_tests(values: pd.DataFrame, dense_models, sparse_level: float, alpha: float = 0.05) -> pd.DataFrame:
    """Welch's t-tests of per-model values (columns sparsity, model, hypothesis, value) between the dense
    models ``dense_models`` and the models at ``sparse_level``, one row per hypothesis: the two means, the
    two-sided p-value, its Holm adjustment over the hypotheses, and the one-sided equivalence p-value
    within +-``ROBUSTNESS_MARGIN``."""
    dense_models = set(dense_models)
    rows = []
    for name, part in values.groupby("hypothesis", sort=False):
        dense = part[(part["sparsity"] == 0) & part["model"].isin(dense_models)]["value"].to_numpy(dtype=float)
        sparse = part[part["sparsity"] == sparse_level]["value"].to_numpy(dtype=float)
        row = {"hypothesis": name, "k_dense": len(dense), "k_sparse": len(sparse)}
        row["dense_mean"], row["sparse_mean"] = (
            float(dense.mean()) if len(dense) else np.nan,
            float(sparse.mean()) if len(sparse) else np.nan,
        )
        if len(dense) >= 2 and len(sparse) >= 2 and (dense.var() > 0 or sparse.var() > 0):
            row["p_value"] = float(scipy_stats.ttest_ind(sparse, dense, equal_var=False).pvalue)
            se2 = sparse.var(ddof=1) / len(sparse) + dense.var(ddof=1) / len(dense)
            df = se2**2 / (
                (sparse.var(ddof=1) / len(sparse)) ** 2 / (len(sparse) - 1)
                + (dense.var(ddof=1) / len(dense)) ** 2 / (len(dense) - 1)
            )
            d, se = row["sparse_mean"] - row["dense_mean"], np.sqrt(se2)
            row["p_equivalent"] = float(
                max(
                    scipy_stats.t.sf((d + ROBUSTNESS_MARGIN) / se, df),
                    scipy_stats.t.cdf((d - ROBUSTNESS_MARGIN) / se, df),
                )
            )
        else:
            row["p_value"] = row["p_equivalent"] = np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy()) if len(table) else []
    table["direction"] = np.where(
        table["p_holm"] <= alpha, np.where(table["sparse_mean"] < table["dense_mean"], "less robust", "more robust"), ""
    )
    return table


def _robustness_verdict(label: str, tests: pd.DataFrame, alpha: float, what: str, sparse_level: float) -> Verdict:
    """Reproduced when some hypothesis is significantly worse for the sparse models after Holm, mixed when
    others are significantly better, not reproduced when only better or when the primary hypothesis (the
    first row: the mean) is equivalent within the margin; inconclusive otherwise."""
    worse, better = tests[tests["direction"] == "less robust"], tests[tests["direction"] == "more robust"]
    primary = tests.iloc[0]
    text = (
        f"relative top-1 {what}: dense {primary['dense_mean']:.3f}, {format_percent(sparse_level)} sparse "
        f"{primary['sparse_mean']:.3f} (Holm-adjusted Welch p = {primary['p_holm']:.2g}); less robust: "
        f"{', '.join(worse['hypothesis']) or 'none'}; more robust: {', '.join(better['hypothesis']) or 'none'} "
        f"(Holm over {len(tests)} tests)"
    )
    sizes = f"K = {int(primary['k_dense'])} dense vs {int(primary['k_sparse'])} sparse"
    rests = format_percent(sparse_level)
    if len(worse) and len(better):
        return Verdict(label, CLAIMS[label], MIXED, text, sizes, rests)
    if len(worse):
        return Verdict(label, CLAIMS[label], REPRODUCED, text, sizes, rests)
    if len(better):
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    if (tests["p_equivalent"] <= alpha).all():
        text += f"; every tested mean is within +-{ROBUSTNESS_MARGIN:.3f} of the dense models' (equivalence tests)"
        return Verdict(label, CLAIMS[label], NOT_REPRODUCED, text, sizes, rests)
    return Verdict(label, CLAIMS[label], INCONCLUSIVE, text, sizes, rests)


def corruption_values(corruption: pd.DataFrame, corruptions=None) -> pd.DataFrame:
    """Per-model hypotheses of claim 3a: relative top-1 averaged over all chosen corruptions ("mean"),
    over each family present, and per corruption (sparsity, model, hypothesis, value, kind)."""
    table = corruption if corruptions is None else corruption[corruption["corruption"].isin(list(corruptions))]
    per = table.groupby(["sparsity", "model", "corruption"], as_index=False)["relative_top1"].mean()
    frames = [per.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean().assign(hypothesis="mean")]
    for family, names in FAMILIES.items():
        part = per[per["corruption"].isin(names)]
        if len(part):
            frames.append(
                part.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean().assign(hypothesis=family)
            )
    return pd.concat(frames, ignore_index=True).rename(columns={"relative_top1": "value"})


def corruption_finding(
    corruption: pd.DataFrame | None,
    dense_models,
    alpha: float = 0.05,
    corruptions=None,
    label: str = "3a",
    what: str = "under corruption",
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3a on the given corruptions (all by default), at the highest sparsity against the dense
    reference models: the mean over corruptions and each family, Holm over them (see
    ``_robustness_verdict``). Returns the verdict and the per-hypothesis tests, with the per-corruption
    tests (Holm over corruptions) appended for display."""
    if corruption is None or corruption.empty:
        verdict = Verdict(label, CLAIMS[label], NOT_EVALUATED, "no robustness tables for this population yet")
        return verdict, pd.DataFrame()
    top = float(corruption["sparsity"].max())
    tests = group_tests(corruption_values(corruption, corruptions), dense_models, top, alpha)
    table = corruption if corruptions is None else corruption[corruption["corruption"].isin(list(corruptions))]
    each = table.groupby(["sparsity", "model", "corruption"], as_index=False)["relative_top1"].mean()
    each = each.rename(columns={"corruption": "hypothesis", "relative_top1": "value"})
    per_corruption = group_tests(each, dense_models, top, alpha).assign(kind="corruption")
    verdict = _robustness_verdict(label, tests, alpha, what, top)
    n_worse = int((per_corruption["direction"] == "less robust").sum())
    n_better = int((per_corruption["direction"] == "more robust").sum())
    verdict = Verdict(
        verdict.label,
        verdict.claim,
        verdict.verdict,
        verdict.statistic + f"; per corruption: {n_worse} of {len(per_corruption)} less robust, {n_better} more",
        verdict.sizes,
        verdict.rests_on,
    )
    return verdict, pd.concat([tests.assign(kind="summary"), per_corruption], ignore_index=True)


def adversarial_values(adversarial: pd.DataFrame, natural: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-model hypotheses of claim 3b: top-1 under attack relative to clean top-1, averaged over attacks
    and radii ("mean") and per attack; plus the natural adversarial set (ImageNet-A) where present
    (``natural``: ``robustness.tables.natural_relative``)."""
    table = adversarial.assign(relative=adversarial["top1"] / adversarial["clean_top1"])
    frames = [table.groupby(["sparsity", "model"], as_index=False)["relative"].mean().assign(hypothesis="mean")]
    for attack, part in table.groupby("attack", sort=False):
        frames.append(part.groupby(["sparsity", "model"], as_index=False)["relative"].mean().assign(hypothesis=attack))
    values = pd.concat(frames, ignore_index=True).rename(columns={"relative": "value"})
    if natural is not None and len(natural):
        extra = natural.assign(value=natural["relative_top1"], hypothesis=natural["set"])
        values = pd.concat([values, extra[["sparsity", "model", "hypothesis", "value"]]], ignore_index=True)
    return values


def adversarial_finding(
    adversarial: pd.DataFrame | None, dense_models, alpha: float = 0.05, natural: pd.DataFrame | None = None
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3b: relative top-1 under attack, at the highest sparsity against the dense reference models."""
    if adversarial is None or adversarial.empty:
        return Verdict(
            "3b", CLAIMS["3b"], NOT_EVALUATED, "no adversarial tables for this population yet"
        ), pd.DataFrame()
    top = float(adversarial["sparsity"].max())
    tests = group_tests(adversarial_values(adversarial, natural), dense_models, top, alpha)
    return _robustness_verdict("3b", tests, alpha, "under attack", top), tests


def robustness_calibration(corruption: pd.DataFrame, split: DenseSplit, seed: int = 0, alpha: float = 0.05) -> dict:
    """``robustness_aa_rate`` of the corruption rule on the evaluated dense models of ``split``'s floor pool,
    split into groups of the reference's size."""
    dense = corruption_values(corruption[corruption["sparsity"] == 0])
    pool, reference = split.floor_pool, split.reference
    return robustness_aa_rate(
        dense, range(pool.start, pool.stop), reference.stop - reference.start, seed=seed, alpha=alpha
    )


def robustness_aa_rate(
    values: pd.DataFrame, pool_models, group_size: int, repeats: int = 200, seed: int = 0, alpha: float = 0.05
) -> dict:
    """The robustness rule applied to dense-vs-dense splits: ``repeats`` random splits of the dense models
    ``pool_models`` into two groups of ``group_size``, one playing the sparse side; the share of splits the
    rule calls reproduced, less robust anywhere, or more robust anywhere (all near zero when calibrated)."""
    pool = np.asarray(sorted(pool_models))
    dense = values[values["sparsity"] == 0]
    if len(pool) < 2 * group_size or group_size < 2:
        return {"splits": 0, "reproduced": np.nan, "any_difference": np.nan}
    rng = np.random.default_rng(seed)
    reproduced = differs = 0
    for _ in range(repeats):
        order = rng.permutation(pool)
        a, b = order[:group_size], order[group_size : 2 * group_size]
        fake = dense[dense["model"].isin(b)].assign(sparsity=1.0)
        tests = group_tests(pd.concat([dense[dense["model"].isin(a)], fake]), a, 1.0, alpha)
        worse = (tests["direction"] == "less robust").any()
        reproduced += bool(worse and not (tests["direction"] == "more robust").any())
        differs += bool((tests["direction"] != "").any())
    return {"splits": repeats, "reproduced": reproduced / repeats, "any_difference": differs / repeats}


def natural_relative_of(tables: dict[str, pd.DataFrame], model_accuracies: pd.DataFrame | None) -> pd.DataFrame:
    """Each model's accuracy on the natural distribution-shift set relative to its clean test accuracy (the
    analysis's ``model_accuracies``); empty without such a set or without clean accuracies."""
    natural = tables.get("natural_accuracy")
    if natural is None or natural.empty or model_accuracies is None:
        return pd.DataFrame(columns=["sparsity", "model", "set", "relative_top1", "relative_top5"])
    clean = model_accuracies.rename(columns={"top1": "clean_top1", "top5": "clean_top5"})
    return natural_relative(natural, clean)
