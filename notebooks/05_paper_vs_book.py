# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---


# %% [markdown]
# # The paper and this book
#
# **The question.** Do the paper's findings hold for the population this book was built with?
#
# The paper reports ImageNet (ResNet-50) and CIFAR-10 (Wide ResNet) populations of
# {glue:text}`paper_k` models per level {cite:p}`hooker2019selective`. This book's default is a
# smaller task on a CPU, so raw counts are not comparable; {numref}`tab-paper-vs-book` puts
# everything on a common scale (change of top-1, share of classes significantly affected, share of
# test images that are PIEs). The verdicts in {numref}`tab-verdicts` are computed by fixed rules from
# the tables of the earlier chapters (`src/pruning_impact/verdicts.py`, calibrated in
# {doc}`00_method`); none is written by hand.

# %% tags=["parameters"]
profile = "fashion-mnist"  # named settings: smoke, fashion-mnist, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # where the trained population lives
population_size = None  # K models per sparse level (None: the profile's)
dense_population_size = None  # dense models (None: the profile's)
sparsities = None  # final sparsities, e.g. "0 0.5 0.9" (None: the profile's)
seed = None  # base seed of the population (None: the profile's)
data_dir = None  # where the dataset is (None: the profile's); used to show test images
correction = None  # correction beside the paper's uncorrected test: fdr_bh, bonferroni or "none" (None: default)
alpha = None  # significance level of the class-level tests (None: the default)
repeats = None  # random dense splits behind each noise floor (None: the default)
random_samples = None  # random samples as large as PIE_t in the PIE evaluation (None: the default)
robustness_subsample = None  # test images per corrupted set; "none": all (None: the default)
robustness_adversarial_subsample = None  # test images attacked per model; "none": all (None: the default)

# %% tags=["hide-input"]

from pruning_impact import comparison, paper, verdicts
from pruning_impact.book import open_chapter
from pruning_impact.robustness_tables import table5

chapter = open_chapter(
    profile=profile,
    results_dir=results_dir,
    population_size=population_size,
    dense_population_size=dense_population_size,
    sparsities=sparsities,
    seed=seed,
    data_dir=data_dir,
    correction=correction,
    alpha=alpha,
    repeats=repeats,
    random_samples=random_samples,
    robustness_subsample=robustness_subsample,
    robustness_adversarial_subsample=robustness_adversarial_subsample,
)
tables, robustness = chapter.tables, chapter.robustness()
corruption = robustness["corruption_accuracy"]
alpha_used = chapter.analysis_options.alpha
found = verdicts.analysis_verdicts(tables, alpha_used)
found += verdicts.robustness_verdicts(robustness, chapter.k_reference, alpha_used, tables["model_accuracies"])[0]
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

# %% [markdown]
# ## Verdicts
#
# Of the {glue:text}`n_claims` claims judged, {glue:text}`n_reproduced` get the verdict
# “reproduced” from this population ({numref}`tab-verdicts`). The headline findings:
#
# - “Class-level impact” ({doc}`02_class_impact`): **{glue:text}`verdict_1`**.
# - “PIEs are harder than dense-vs-dense disagreements, for held-out models” ({doc}`03_pie`):
#   **{glue:text}`verdict_2`**.
# - “Robustness to corruptions” ({doc}`04_robustness`, the paper's Table 5 corruptions):
#   **{glue:text}`verdict_3a`**; “to adversarial examples”: **{glue:text}`verdict_3b`**.

# %% tags=["hide-input"]
chapter.show_table(
    verdicts.verdict_table(found),
    "tab-verdicts",
    "Every claim of the paper judged here (paraphrased), with the verdict computed from this population, "
    "the statistic behind it, the population sizes and the level(s) it rests on.",
)

# %% tags=["hide-input"]
side = comparison.paper_vs_book(
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
    comparison.class_summary_vs_paper(tables["class_summary"], chapter.dataset),
    "tab-paper-classes",
    f"The paper's class-level summary for CIFAR-10 (its Table 4, {paper.CIFAR10_CLASSES} classes) beside "
    f"this book's ({len(chapter.class_names)} classes), both without correction.",
)

# %% tags=["hide-input"]
chapter.show_table(
    comparison.shifts_vs_paper(tables["shift_comparison"], chapter.dataset),
    "tab-paper-shifts",
    'Classes significant per sparsity without correction, as "# signif. (# incr. / # decr.)": the paper\'s '
    "Tables 1 and 4 beside this book's with each model's own top-1 subtracted (shift: model, the paper's "
    "text) and with its population's mean top-1 subtracted (shift: population, the authors' code).",
)

# %% tags=["hide-input"]
side = comparison.robustness_vs_paper(table5(corruption), chapter.dataset)
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
#
# 1. Read the rules in `src/pruning_impact/verdicts.py`. Re-execute the book with
#    `-p population_size 4`: which verdicts change, and is the change a property of pruning or of the
#    population size?
# 2. The paper found fewer significant classes on CIFAR-10 than on ImageNet. Where does this book's
#    dataset fall, and what would you expect for a task with many more classes?
