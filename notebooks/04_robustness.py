# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Robustness to corruptions and adversarial examples
#
# :::{admonition} What you will learn
# :class: tip
# - how robustness to corruptions and to adversarial attacks changes with sparsity;
# - why robustness is compared relative to each model's clean accuracy;
# - which test images the pruned models change their minds about under corruption.
# :::
#
# **The question.** Does pruning leave a model more fragile when its inputs are degraded: blurred,
# noisy, low in contrast, or perturbed on purpose?
#
# Every model is evaluated on the test images corrupted by the corruptions of
# {cite:t}`hendrycks2019benchmarking` (with their CIFAR-10-C constants for small images), and on
# adversarial examples made by FGSM and PGD. Snow and frost overlay photographs of snow and frost,
# which this project does not ship, so they are not generated here; they are used when a published
# CIFAR-10-C or ImageNet-C folder provides them. As in the paper's Section 3.3, accuracy under
# corruption is also reported *relative* to the same model's clean accuracy, so that a pruned model
# is not charged again for its lower clean accuracy.

# %% tags=["parameters", "hide-input"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
population_size = None  # type: int|None  K models per sparse level, up to the trained K (None: the profile's)
dense_population_size = None  # type: int|None  dense models, up to the trained number (None: the profile's)
sparsities = None  # type: list|None  trained sparsities to show, a list or text such as "0 0.5 0.9" (None: the profile's)
seed = None  # type: int|None  base seed of the population (None: the profile's)
data_dir = None  # type: str|None  folder of the dataset, to show test images (None: the profile's)
correction = None  # type: str|None  correction beside the uncorrected test: fdr_bh, bonferroni or "none" (None: fdr_bh)
alpha = None  # type: float|None  significance level of the tests and verdicts (None: 0.05)
repeats = None  # type: int|None  random dense splits behind each noise floor (None: 200)
random_samples = None  # type: int|None  random samples as large as PIE_t in the PIE evaluation (None: 100)
robustness_subsample = None  # type: int|None  test images per corrupted set, "none" for all (None: 1000)
robustness_adversarial_subsample = None  # type: int|None  test images attacked per model, "none" for all (None: 250)

# %% tags=["hide-input"]
import pandas as pd

from pruning_impact import verdicts
from pruning_impact.book import open_chapter, plots
from pruning_impact.foundations.levels import format_percent
from pruning_impact.robustness.tables import level_means, per_model_relative, pie_flip_table, table5

plots.set_style()
chapter = open_chapter(vars())
tables = chapter.robustness()
corruption, adversarial, flips = tables["corruption_accuracy"], tables["adversarial_accuracy"], tables["example_flips"]
summary = table5(corruption)
levels = level_means(per_model_relative(corruption), chapter.dense_split)
top_t = levels.index.max()
natural = tables["natural_accuracy"]
relative_natural = verdicts.natural_relative_of(tables, chapter.tables["model_accuracies"])
found, details = verdicts.robustness_verdicts(
    tables, chapter.dense_split, chapter.analysis_options.alpha, chapter.tables["model_accuracies"]
)
for v in found:
    chapter.glue(f"verdict_{v.label}", v.verdict)
    chapter.glue(f"evidence_{v.label}", v.statistic)
aa = verdicts.robustness_calibration(
    corruption,
    chapter.dense_split,
    seed=chapter.analysis_options.seed,
    alpha=chapter.analysis_options.alpha,
)
chapter.glue("aa_splits", aa["splits"])
chapter.glue("aa_reproduced", 100 * aa["reproduced"] if aa["splits"] else float("nan"))
chapter.glue("aa_any", 100 * aa["any_difference"] if aa["splits"] else float("nan"))
chapter.glue("aa_group", chapter.k_reference)
chapter.glue("n_images", len(flips))
chapter.glue("n_corruptions", corruption["corruption"].nunique())
chapter.glue("n_severities", corruption["severity"].nunique())
chapter.glue("rel_dense", 100 * levels.loc[0.0])
chapter.glue("rel_sparse", 100 * levels.loc[top_t])
chapter.glue("rob_top_t", 100 * top_t)
worst = summary[summary["sparsity"] == top_t].sort_values("relative_top1").iloc[0]
chapter.glue("worst_corruption", worst["corruption"].replace("_", " "))
chapter.glue("worst_relative", 100 * worst["relative_top1"])

# %% [markdown]
# ## Corruptions: Table 5 and Figure 7
#
# On {glue:text}`n_images` test images per corrupted set ({glue:text}`n_corruptions` corruptions at
# {glue:text}`n_severities` severities), the dense reference models keep {glue:text}`rel_dense:.1f`% of
# their clean top-1 on average over corruptions and severities; the {glue:text}`rob_top_t:.0f`%-sparse
# models keep {glue:text}`rel_sparse:.1f`%. The corruption with the lowest relative top-1 for the
# most sparse models is {glue:text}`worst_corruption` ({glue:text}`worst_relative:.1f`% of clean
# top-1). The verdicts test the mean over corruptions and each family of corruptions (noise, blur,
# weather, digital), Holm-corrected, and each corruption, Holm-corrected over the corruptions; a
# significant effect the other way, in a family or in a single corruption, makes a verdict “mixed”
# ({numref}`tab-robustness-tests`). The paper also observes that noise corruptions cost pruned models
# the most; that is judged on each model's noise-family accuracy less its accuracy on each other family,
# dense against sparse. The paper's adversarial claim is about natural adversarial examples
# (ImageNet-A); white-box FGSM and PGD attacks, which this book runs on every dataset, ask a
# neighbouring question and are judged as their own claim:
#
# - “Less robust to the corruptions of the paper's Table 5”: **{glue:text}`verdict_3a`**
#   ({glue:text}`evidence_3a`).
# - “Less robust to every corruption evaluated here”: **{glue:text}`verdict_3a-all`**
#   ({glue:text}`evidence_3a-all`).
# - “Noise corruptions cost pruned models the most”: **{glue:text}`verdict_3c`** ({glue:text}`evidence_3c`).
# - “Less robust to adversarial examples (white-box FGSM and PGD here)”: **{glue:text}`verdict_3b`**
#   ({glue:text}`evidence_3b`).
# - “Less robust to natural adversarial examples (the paper's claim)”: **{glue:text}`verdict_3n`**
#   ({glue:text}`evidence_3n`).
#
# The same rule applied to {glue:text}`aa_splits` random splits of the dense models into two groups of
# {glue:text}`aa_group`, where pruning plays no part, says “less robust” without “more robust”
# elsewhere on {glue:text}`aa_reproduced:.1f`% of the splits, and finds some difference on
# {glue:text}`aa_any:.1f`%.

# %% tags=["hide-input"]
for value, name, what in (
    ("top1", "tab-robustness", "Top-1 accuracy (%)"),
    ("relative_top1", "tab-robustness-relative", "Top-1 relative to clean top-1 (%)"),
    ("top5", "tab-robustness-top5", "Top-5 accuracy (%)"),
    ("relative_top5", "tab-robustness-relative-top5", "Top-5 relative to clean top-5 (%)"),
):
    wide = (100 * summary.pivot(index="corruption", columns="sparsity", values=value)).reset_index()
    wide.columns = ["corruption"] + [f"t = {format_percent(c)}" for c in wide.columns[1:]]
    wide["corruption"] = wide["corruption"].str.replace("_", " ")
    chapter.show_table(
        wide,
        name,
        f"{what} under each corruption, mean over the five severities and the models of "
        "each sparsity t (cf. the paper's Table 5).",
        digits=1,
    )

# %% tags=["hide-input"]
fig = plots.robustness_figure(summary, adversarial)
chapter.show_figure(
    fig,
    "fig-robustness",
    "Left: top-1 under each corruption relative to clean top-1, against "
    "sparsity. Right: top-1 under FGSM (dashed) and PGD (solid) attacks of L-infinity radius eps "
    "(pixel scale 0-1), mean and standard deviation over models (cf. the paper's Figure 7).",
)

# %% tags=["hide-input"]
rows = []
for label, detail in details.items():
    if len(detail) and "hypothesis" in detail:
        rows.append(detail.assign(claim=label))
tests_view = (
    pd.concat(rows, ignore_index=True)[
        ["claim", "hypothesis", "k_dense", "k_sparse", "dense_mean", "sparse_mean", "p_value", "p_holm", "direction"]
    ]
    if rows
    else pd.DataFrame()
)
chapter.show_table(
    tests_view,
    "tab-robustness-tests",
    "The tests behind the robustness verdicts: per-model relative top-1 of the dense reference and the most "
    "sparse models, for the mean over corruptions (or attacks), each family and each corruption; Welch's "
    "two-sided p-value and its Holm adjustment (over the summary rows of a claim, or over its "
    "corruptions); direction where significant.",
    digits=3,
)

# %% [markdown]
# ## Natural distribution shift
#
# The paper measures natural adversarial examples on ImageNet-A. Where the profile's dataset has
# such a set in its data folder (ImageNet-A for ImageNet, CIFAR-10.1 for CIFAR-10), every model is
# scored on it here, and relative to its clean accuracy it is judged as the paper's claim above;
# ImageNet-A both over all classes, as the paper's code did, and restricted to its own classes. For
# other datasets the FGSM and PGD attacks above stand in for it.

# %% tags=["hide-input"]
if len(natural):
    view = natural.groupby(["set", "sparsity"], as_index=False)[["top1", "top5", "top1_restricted"]].mean()
    chapter.show_table(
        view,
        "tab-natural",
        "Top-1 and top-5 on the natural distribution-shift set, mean over the "
        "models of each sparsity (top-1 restricted: ImageNet-A scored on its own classes).",
    )
    chapter.show_figure(
        plots.natural_shift_figure(relative_natural),
        "fig-natural-shift",
        "Top-1 and top-5 on the natural distribution-shift set relative to each model's clean accuracy, "
        "mean and 95% interval over the models of each sparsity (cf. the paper's Figure 7, left).",
    )
else:
    chapter.show_note(f"*No natural distribution-shift set is available for {chapter.dataset}.*")

# %% [markdown]
# ## Do PIEs flip under corruption?
#
# If PIEs are fragile images, the dense models' modal label should change on them more often when
# the image is corrupted. {numref}`tab-pie-flips` compares the share of corrupted sets on which the
# modal label of an image changes, for PIEs and for the other images of the subsample, with a
# one-sided Mann-Whitney U test. The flips are those of the reference's partners, dense models that
# took no part in choosing PIE$_t$ (the reference's own modal label defines PIE$_t$, so its flips would
# be tied to the set by construction).

# %% tags=["hide-input"]
flip_table = pie_flip_table(flips, chapter.tables["examples"]).rename(columns={"sparsity": "PIE_t identified at t"})
chapter.show_table(
    flip_table,
    "tab-pie-flips",
    "Flip rate under corruption of dense models that did not define PIE_t (share of the corrupted "
    "sets on which their modal label differs from its clean one) for PIE_t and non-PIE_t images of "
    "the subsample; U statistic and p-value of a one-sided Mann-Whitney test (PIEs flip more).",
    digits=4,
)

# %% [markdown]
# ## Take-aways
#
# - Relative accuracy separates fragility from the lower clean accuracy of pruned models.
# - PIEs and corruption sensitivity can be compared image by image because every model's
#   per-example predictions on every corrupted set are kept.
#
# ## Exercises

# %% [markdown]
# :::{exercise}
# :label: ex-rob-worst
# Under which corruption do the most sparse models lose the most, relative to the dense models? Compare
# with the paper's observation that noise corruptions hurt pruned ImageNet models most.
# :::

# %% tags=["solution", "remove-input"]
by_corruption = summary.pivot_table(index="corruption", columns="sparsity", values="relative_top1")
drop = (by_corruption[0.0] - by_corruption[top_t]).dropna().sort_values(ascending=False)
chapter.glue("sol_worst_corruption", drop.index[0].replace("_", " "))
chapter.glue("sol_worst_drop", 100 * drop.iloc[0])
chapter.glue("sol_least_corruption", drop.index[-1].replace("_", " "))
chapter.glue("sol_least_drop", 100 * drop.iloc[-1])
noise_ranks = [
    f"{name.replace('_', ' ')} {rank + 1}" for rank, name in enumerate(drop.index) if name.endswith("_noise")
]
chapter.glue("sol_noise_ranks", ", ".join(noise_ranks) or "no noise corruption was evaluated")
chapter.glue("sol_n_ranked", len(drop))

# %% [markdown] tags=["solution"]
# :::{solution} ex-rob-worst
# :class: dropdown
# Subtract each corruption's relative top-1 at {glue:text}`rob_top_t:.0f`% sparsity from the dense
# one: the largest loss is under **{glue:text}`sol_worst_corruption`**
# ({glue:text}`sol_worst_drop:.1f` points of relative top-1), and the last in that order is
# {glue:text}`sol_least_corruption` ({glue:text}`sol_least_drop:+.1f` points; a negative number is a
# gain). The places of the noise corruptions in that order, counted from the largest loss, out of
# {glue:text}`sol_n_ranked`: {glue:text}`sol_noise_ranks`; compare with the paper's ImageNet observation, and read the rows of
# {numref}`tab-robustness-relative` for the levels in between.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-rob-se
# Each corrupted set is a sample of test images. How large is the standard error of one model's top-1
# on one corrupted set, and how does it compare with the mean gap between dense and sparse models?
# :::

# %% tags=["solution", "remove-input"]
images_per_set = chapter.robustness_options.subsample or chapter.num_test
sparse_top1 = corruption[corruption["sparsity"] == top_t]["top1"].mean()
dense_top1 = corruption[corruption["sparsity"] == 0.0]["top1"].mean()
chapter.glue("sol_images_per_set", int(min(images_per_set, chapter.num_test)))
chapter.glue("sol_se", 100 * (sparse_top1 * (1 - sparse_top1) / min(images_per_set, chapter.num_test)) ** 0.5)
chapter.glue("sol_gap", 100 * (dense_top1 - sparse_top1))

# %% [markdown] tags=["solution"]
# :::{solution} ex-rob-se
# :class: dropdown
# With {glue:text}`sol_images_per_set` images per set, one model's top-1 has a binomial standard error
# of about $\sqrt{p(1-p)/n}$ = {glue:text}`sol_se:.2f` points, against a mean gap of
# {glue:text}`sol_gap:.2f` points between dense and {glue:text}`rob_top_t:.0f`%-sparse models over all
# sets. The rule compares means over models, corruptions and severities, which average much of the
# sampling error away; a larger subsample (`-p robustness_subsample none` after evaluating all images)
# shrinks it further.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-rob-adversarial
# Why might accuracy under attack fall faster with sparsity than accuracy under corruptions?
# :::

# %% [markdown] tags=["solution"]
# :::{solution} ex-rob-adversarial
# :class: dropdown
# An attack searches for the worst perturbation of each image within a budget, while a corruption is
# one fixed perturbation. A model with less capacity to spare may keep fewer redundant features, so
# that a searched perturbation needs to undo less of what the model relies on. It is a hypothesis:
# {numref}`fig-robustness` shows whether the attacked curves of this population fall faster.
# :::
