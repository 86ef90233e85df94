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
# # The paper and this book
#
# :::{admonition} What you will learn
# :class: tip
# - how each of the paper's claims is judged on this population, and on what evidence;
# - where this book's numbers agree with the paper's and where they differ.
# :::
#
# **The question.** Do the paper's findings hold for the population this book was built with?
#
# The paper reports ImageNet (ResNet-50) and CIFAR-10 (Wide ResNet) populations of
# {glue:text}`paper_k` models per level {cite:p}`hooker2019selective`. This book's default is a
# smaller task on a CPU, so raw counts are not comparable; {numref}`tab-paper-vs-book` puts
# everything on a common scale (change of top-1, share of classes significantly affected, share of
# test images that are PIEs). The verdicts in {numref}`tab-verdicts` are computed by fixed rules from
# the tables of the earlier chapters (`src/pruning_impact/verdicts/`, calibrated in
# {doc}`00_method`); none is written by hand.

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

from pruning_impact import verdicts
from pruning_impact.book import open_chapter, plots
from pruning_impact.robustness.tables import table5
from pruning_impact.verdicts import paper, paper_vs_book, stability

plots.set_style()
chapter = open_chapter(vars())
tables, robustness = chapter.tables, chapter.robustness()
corruption = robustness["corruption_accuracy"]
alpha_used = chapter.analysis_options.alpha
found = verdicts.analysis_verdicts(tables, alpha_used)
found += verdicts.robustness_verdicts(robustness, chapter.dense_split, alpha_used, tables["model_accuracies"])[0]
for v in found:
    chapter.glue(f"verdict_{v.label}", v.verdict)
    chapter.glue(f"evidence_{v.label}", v.statistic)
chapter.glue("paper_k", paper.POPULATION_SIZE)
low_paper = paper.IMAGENET_TOPLINES.dropna(subset=["n_significant"]).iloc[0]
chapter.glue("imagenet_classes", paper.IMAGENET_CLASSES)
chapter.glue("paper_low_signif", int(low_paper["n_significant"]))
chapter.glue("paper_low_t", 100 * low_paper["sparsity"])
chapter.glue("paper_chance", alpha_used * paper.IMAGENET_CLASSES)
chapter.glue("dataset", chapter.dataset)
chapter.glue("num_classes", len(chapter.class_names))
chapter.glue("n_claims", len(found))
chapter.glue("n_reproduced", sum(v.verdict == verdicts.REPRODUCED for v in found))
stable = stability.run_stability(chapter.results_dir, chapter.settings, chapter.analysis_options, robustness)
chapter.glue("stability_resamples", int(stable["resamples"].iloc[0]))
chapter.glue("stability_subsample", 100 * stability.SUBSAMPLE)
chapter.glue("unstable_threshold", 100 * stability.UNSTABLE)
chapter.glue("unstable_claims", stability.unstable(stable))

# %% [markdown]
# ## Verdicts
#
# Of the {glue:text}`n_claims` claims judged, {glue:text}`n_reproduced` get the verdict
# “reproduced” from this population ({numref}`tab-verdicts`). The headline findings:
#
# - “Class-level impact” ({doc}`02_class_impact`): **{glue:text}`verdict_1`**.
# - “PIEs are harder than random and non-PIE images, for dense and sparse models” ({doc}`03_pie`):
#   **{glue:text}`verdict_2`**; beyond the paper, “the hardness is specific to pruning”:
#   **{glue:text}`verdict_2s`**.
# - “Robustness to corruptions” ({doc}`04_robustness`, the paper's Table 5 corruptions):
#   **{glue:text}`verdict_3a`**; “to white-box adversarial attacks”: **{glue:text}`verdict_3b`**;
#   “to natural adversarial examples”, the paper's own claim: **{glue:text}`verdict_3n`**.
#
# A verdict rests on this population's models; other models trained the same way could say otherwise.
# The stability column is the share of {glue:text}`stability_resamples` resampled populations, each
# keeping {glue:text}`stability_subsample:.0f`% of every group's models (drawn without replacement),
# that give the same verdict; a share below {glue:text}`unstable_threshold:.0f`% flags a verdict that
# another population of this size could well turn: {glue:text}`unstable_claims`.

# %% tags=["hide-input"]
chapter.show_table(
    verdicts.verdict_table(found, stable),
    "tab-verdicts",
    "The paper's claims (paraphrased) judged on this population, with the verdict its rule computes, the "
    "verdict's stability (share of resampled populations that repeat it) and the first clause of the "
    "statistic; the full evidence is in the folded table below.",
    digits=2,
)
chapter.show_folded_table(
    verdicts.evidence_table(found),
    "tab-verdict-evidence",
    "The full evidence behind each verdict: the statistic, the population sizes and the level(s) it rests on.",
    "Evidence behind each verdict",
)

# %% tags=["hide-input"]
comparable = paper_vs_book.comparable_quantities(
    tables["toplines"],
    tables["pie_counts"],
    tables["class_summary"],
    tables["model_accuracies"],
    len(chapter.class_names),
    chapter.num_test,
    corruption,
)
chapter.show_figure(
    plots.forest_plot(comparable),
    "fig-paper-forest",
    "The paper's values (open markers) beside this book's (points with "
    f"{100 * paper_vs_book.CONFIDENCE:.0f}% intervals: Welch's over models for a change, Wilson's over "
    "classes or test images for a share) on common scales; the corruption panel averages the paper's "
    "Table 5 over the corruptions both evaluated.",
)

# %% tags=["hide-input"]
side = paper_vs_book.paper_vs_book(
    tables["toplines"], len(chapter.class_names), chapter.num_test, f"{chapter.dataset} (this book)"
)
for column in ("top1", "top1_change", "significant_class_fraction", "pie_fraction"):
    side[column] = 100 * side[column]
side = side.rename(
    columns={
        "sparsity": "t",
        "top1": "top-1 (%)",
        "top1_change": "change vs dense (points)",
        "significant_class_fraction": "classes signif. (%, uncorrected)",
        "pie_fraction": "PIEs (% of test set)",
    }
)
chapter.show_table(
    side,
    "tab-paper-vs-book",
    f"The paper's reported top lines (its Tables 2 and 3; K = {paper.POPULATION_SIZE} per level on ImageNet "
    "and CIFAR-10) beside this book's, on a common scale. Significant classes are counted "
    "without correction, as in the paper.",
    digits=2,
)

# %% tags=["hide-input"]
chapter.show_table(
    paper_vs_book.class_summary_vs_paper(tables["class_summary"], chapter.dataset),
    "tab-paper-classes",
    f"The paper's class-level summary for CIFAR-10 (its Table 4, {paper.CIFAR10_CLASSES} classes) beside "
    f"this book's ({len(chapter.class_names)} classes), both without correction.",
)

# %% tags=["hide-input"]
chapter.show_table(
    paper_vs_book.shifts_vs_paper(tables["shift_comparison"], chapter.dataset),
    "tab-paper-shifts",
    'Classes significant per sparsity without correction, as "# signif. (# incr. / # decr.)": the paper\'s '
    "Tables 1 and 4 beside this book's with each model's own top-1 subtracted (shift: model, the paper's "
    "text) and with its population's mean top-1 subtracted (shift: population, the authors' code).",
)

# %% tags=["hide-input"]
side = paper_vs_book.robustness_vs_paper(table5(corruption), chapter.dataset)
side.iloc[:, 1:] *= 100
chapter.show_table(
    side,
    "tab-paper-robustness",
    "Top-1 under corruption relative to clean top-1 (%), mean over "
    "severities and models: the paper's ImageNet-C results (its Table 5) beside this book's corrupted "
    "test sets.",
    digits=1,
)

# %% [markdown]
# ## Take-aways
#
# - The paper's claims are about populations and shares; compare shares, not raw counts, across
#   datasets of different size.
# - A verdict is only as strong as the calibration behind it: each rule is tested against its
#   population's own no-effect distribution, and its error rates are measured in {doc}`00_method`.
#
# ## Exercises

# %% [markdown]
# :::{exercise}
# :label: ex-paper-small-k
# Read the rules in `src/pruning_impact/verdicts/`. Re-execute this chapter with
# `-p population_size 4`: which verdicts change, and is the change a property of pruning or of the
# population size?
# :::

# %% tags=["solution", "remove-input"]
small = chapter.with_parameters(population_size=chapter.smaller_k)
small_found = verdicts.analysis_verdicts(small.tables, alpha_used)
small_found += verdicts.robustness_verdicts(
    small.robustness(), small.dense_split, alpha_used, small.tables["model_accuracies"]
)[0]
with_all = {v.label: v.verdict for v in found}
changed = [
    f"claim {v.label} ({with_all[v.label]} -> {v.verdict})"
    for v in small_found
    if v.label in with_all and v.verdict != with_all[v.label]
]
undecided = sum(v.verdict == verdicts.INCONCLUSIVE for v in small_found) - sum(
    v.verdict == verdicts.INCONCLUSIVE for v in found
)
chapter.glue("sol_small_k", chapter.smaller_k)
chapter.glue("sol_changed", "; ".join(changed) if changed else "none")
chapter.glue("sol_n_changed", len(changed))
chapter.glue("sol_more_inconclusive", undecided)

# %% [markdown] tags=["solution"]
# :::{solution} ex-paper-small-k
# :class: dropdown
# With {glue:text}`sol_small_k` models per level, {glue:text}`sol_n_changed` verdicts change:
# {glue:text}`sol_changed`. The models are the same ones (the first {glue:text}`sol_small_k` of each
# level), so any change is a property of the population size. Fewer models mean less power: with
# {glue:text}`sol_small_k` models, {glue:text}`sol_more_inconclusive` more claims are left
# inconclusive than with all of them (a negative number means fewer).
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-paper-classes
# Compare the share of significant classes on this book's dataset with the paper's CIFAR-10 and
# ImageNet shares. What would you expect for a task with many more classes?
# :::

# %% [markdown] tags=["solution"]
# :::{solution} ex-paper-classes
# :class: dropdown
# Compare shares, not counts: {numref}`tab-paper-vs-book` gives the share of classes that are
# significant at each sparsity for the paper and for {glue:text}`dataset`. With many more
# classes, each class has fewer test images, so a class's accuracy is noisier and a single class is
# harder to call significant, while the number of classes where chance alone gives a "significant"
# result grows as $\alpha C$; the A/A calibration is what separates the two.
# :::
