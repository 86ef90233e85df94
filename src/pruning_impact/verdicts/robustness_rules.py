"""Verdicts on the robustness claims: pruned models less robust to image corruptions (3a: Table 5's, then
all of them, tested per corruption family and per corruption), noise the costliest corruption family (3c),
less robust to white-box adversarial attacks (3b) and to a natural adversarial set (3n), from per-model
values tested between the dense reference and the most sparse level; and the rules' A/A rate on dense models."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from pruning_impact.analysis.stats import holm
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.levels import format_percent
from pruning_impact.robustness.tables import natural_relative
from pruning_impact.verdicts.claims import (
    CLAIMS,
    INCONCLUSIVE,
    MIXED,
    NOT_EVALUATED,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Verdict,
)

ROBUSTNESS_MARGIN_SDS = 1.0
"""The equivalence margin of each robustness hypothesis, in standard deviations of the dense reference
models' values: a change smaller than the spread between two retrained dense models counts as no effect."""
FAMILIES = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"),
    "blur": ("defocus_blur", "gaussian_blur", "glass_blur", "motion_blur", "zoom_blur"),
    "weather": ("snow", "frost", "fog", "brightness", "spatter"),
    "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression", "saturate"),
}
"""Corruption families as Hendrycks & Dietterich group them (the extra ones where a set has them)."""


def group_tests(
    values: pd.DataFrame, dense_models, sparse_level: float, alpha: float = 0.05, margin_scale: float = 1.0
) -> pd.DataFrame:
    """Welch's t-tests of per-model values (columns sparsity, model, hypothesis, value) between the dense
    models ``dense_models`` and the models at ``sparse_level``, one row per hypothesis: the two means, the
    two-sided p-value, its Holm adjustment over the hypotheses, and the equivalence p-value (two one-sided
    tests) within +-``margin``, ``ROBUSTNESS_MARGIN_SDS`` x ``margin_scale`` dense standard deviations."""
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
            margin = row["margin"] = margin_scale * ROBUSTNESS_MARGIN_SDS * float(dense.std(ddof=1))
            row["p_equivalent"] = float(
                max(scipy_stats.t.sf((d + margin) / se, df), scipy_stats.t.cdf((d - margin) / se, df))
            )
        else:
            row["p_value"] = row["p_equivalent"] = row["margin"] = np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy()) if len(table) else []
    table["direction"] = np.where(
        table["p_holm"] <= alpha, np.where(table["sparse_mean"] < table["dense_mean"], "less robust", "more robust"), ""
    )
    return table


def _robustness_verdict(
    label: str, tests: pd.DataFrame, alpha: float, what: str, sparse_level: float, others: pd.DataFrame | None = None
) -> Verdict:
    """Reproduced when some hypothesis of ``tests`` (the mean and the families, one Holm family) is
    significantly worse for the sparse models; mixed when any Holm-significant effect, there or in ``others``
    (the per-corruption tests, Holm over corruptions), goes the other way; not reproduced when only better, or
    when every hypothesis is equivalent within its margin; inconclusive otherwise."""
    both = tests if others is None else pd.concat([tests, others], ignore_index=True)
    # "less robust" rests on the summary tests (one Holm family); any effect the other way counts against it
    worse, better = tests[tests["direction"] == "less robust"], both[both["direction"] == "more robust"]
    primary = tests.iloc[0]
    text = (
        f"relative top-1 {what}: dense {primary['dense_mean']:.3f}, {format_percent(sparse_level)} sparse "
        f"{primary['sparse_mean']:.3f} (Holm-adjusted Welch p = {primary['p_holm']:.2g}); less robust: "
        f"{', '.join(worse['hypothesis']) or 'none'}; more robust: {', '.join(better['hypothesis']) or 'none'} "
        f"(Holm over the {len(tests)} summary tests"
        + (f" and over the {len(others)} corruptions)" if others is not None else ")")
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
        text += f"; every tested mean is within {ROBUSTNESS_MARGIN_SDS:g} dense standard deviation(s) (equivalence)"
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
    margin_scale: float = 1.0,
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3a on the given corruptions (all by default), at the highest sparsity against the dense
    reference models: the mean over corruptions and each family, Holm over them, and each corruption (Holm
    over corruptions), whose effects the other way make the verdict mixed (see ``_robustness_verdict``).
    Returns the verdict and the per-hypothesis tests, the per-corruption tests appended."""
    if corruption is None or corruption.empty:
        verdict = Verdict(label, CLAIMS[label], NOT_EVALUATED, "no robustness tables for this population yet")
        return verdict, pd.DataFrame()
    top = float(corruption["sparsity"].max())
    tests = group_tests(corruption_values(corruption, corruptions), dense_models, top, alpha, margin_scale)
    table = corruption if corruptions is None else corruption[corruption["corruption"].isin(list(corruptions))]
    each = table.groupby(["sparsity", "model", "corruption"], as_index=False)["relative_top1"].mean()
    each = each.rename(columns={"corruption": "hypothesis", "relative_top1": "value"})
    per_corruption = group_tests(each, dense_models, top, alpha, margin_scale).assign(kind="corruption")
    verdict = _robustness_verdict(label, tests, alpha, what, top, per_corruption)
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


def adversarial_values(adversarial: pd.DataFrame) -> pd.DataFrame:
    """Per-model hypotheses of claim 3b: top-1 under white-box attack relative to clean top-1, averaged over
    attacks and radii ("mean") and per attack."""
    table = adversarial.assign(relative=adversarial["top1"] / adversarial["clean_top1"])
    frames = [table.groupby(["sparsity", "model"], as_index=False)["relative"].mean().assign(hypothesis="mean")]
    for attack, part in table.groupby("attack", sort=False):
        frames.append(part.groupby(["sparsity", "model"], as_index=False)["relative"].mean().assign(hypothesis=attack))
    return pd.concat(frames, ignore_index=True).rename(columns={"relative": "value"})


def adversarial_finding(
    adversarial: pd.DataFrame | None, dense_models, alpha: float = 0.05, margin_scale: float = 1.0
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3b: relative top-1 under white-box attack (FGSM, PGD), at the highest sparsity against the dense
    reference models. The paper's claim is about natural adversarial examples (3n); this asks a neighbour."""
    if adversarial is None or adversarial.empty:
        return Verdict(
            "3b", CLAIMS["3b"], NOT_EVALUATED, "no adversarial tables for this population yet"
        ), pd.DataFrame()
    top = float(adversarial["sparsity"].max())
    tests = group_tests(adversarial_values(adversarial), dense_models, top, alpha, margin_scale)
    return _robustness_verdict("3b", tests, alpha, "under white-box attack", top), tests


def natural_adversarial_finding(
    natural: pd.DataFrame | None, dense_models, alpha: float = 0.05, margin_scale: float = 1.0
) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3n, the paper's: relative top-1 on a natural adversarial set (ImageNet-A; ``natural``:
    ``robustness.tables.natural_relative``); not evaluated without such a set."""
    if natural is None or natural.empty:
        return Verdict(
            "3n", CLAIMS["3n"], NOT_EVALUATED, "no natural adversarial set (ImageNet-A) here"
        ), pd.DataFrame()
    values = natural.assign(value=natural["relative_top1"], hypothesis=natural["set"])
    top = float(values["sparsity"].max())
    tests = group_tests(values[["sparsity", "model", "hypothesis", "value"]], dense_models, top, alpha, margin_scale)
    return _robustness_verdict("3n", tests, alpha, "on the natural adversarial set", top), tests


def noise_costliest(corruption: pd.DataFrame | None, dense_models, alpha: float = 0.05) -> tuple[Verdict, pd.DataFrame]:
    """Claim 3c, the paper's observation that noise corruptions degrade pruned models the most: per model the
    noise family's relative top-1 less each other family's (a within-model contrast), tested between the
    dense reference and the most sparse models (one-sided Welch). Reproduced when pruning lowers the contrast
    against every other family (the largest p-value <= alpha, an intersection-union test); not reproduced
    when some family loses significantly more than noise (Holm over families); inconclusive otherwise."""
    values = None if corruption is None or corruption.empty else corruption_values(corruption)
    if values is None or "noise" not in set(values["hypothesis"]):
        return Verdict("3c", CLAIMS["3c"], NOT_EVALUATED, "no noise corruption was evaluated"), pd.DataFrame()
    wide = values.pivot_table(index=["sparsity", "model"], columns="hypothesis", values="value").reset_index()
    others = [f for f in FAMILIES if f != "noise" and f in wide]
    if not others:
        return Verdict("3c", CLAIMS["3c"], NOT_TESTABLE, "no corruption family besides noise"), pd.DataFrame()
    top = float(wide["sparsity"].max())
    dense = wide[(wide["sparsity"] == 0) & wide["model"].isin(set(dense_models))]
    sparse = wide[wide["sparsity"] == top]
    rows = []
    for family in others:
        d, s = (dense["noise"] - dense[family]).to_numpy(float), (sparse["noise"] - sparse[family]).to_numpy(float)
        loss_noise = dense["noise"].mean() - sparse["noise"].mean()
        loss_other = dense[family].mean() - sparse[family].mean()
        test = scipy_stats.ttest_ind(s, d, equal_var=False, alternative="less")
        rows.append(
            {
                "family": family,
                "noise_loss": loss_noise,
                "family_loss": loss_other,
                "p_noise_more": float(test.pvalue),
                "p_family_more": float(scipy_stats.ttest_ind(s, d, equal_var=False, alternative="greater").pvalue),
            }
        )
    tests = pd.DataFrame(rows)
    tests["p_family_more_holm"] = holm(tests["p_family_more"].to_numpy())
    text = (
        f"loss of relative top-1 from dense to {format_percent(top)}: noise {tests['noise_loss'].iloc[0]:.3f}; "
        + ", ".join(f"{r.family} {r.family_loss:.3f} (p = {r.p_noise_more:.2g})" for r in tests.itertuples())
        + f"; noise costliest against every family: p = {tests['p_noise_more'].max(skipna=False):.3g} (largest)"
    )
    sizes = f"K = {len(dense)} dense vs {len(sparse)} sparse"
    if tests["p_noise_more"].max(skipna=False) <= alpha:  # a family without a p-value cannot be passed over
        return Verdict("3c", CLAIMS["3c"], REPRODUCED, text, sizes, format_percent(top)), tests
    if (tests["p_family_more_holm"] <= alpha).any():
        return Verdict("3c", CLAIMS["3c"], NOT_REPRODUCED, text, sizes, format_percent(top)), tests
    return Verdict("3c", CLAIMS["3c"], INCONCLUSIVE, text, sizes, format_percent(top)), tests


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
