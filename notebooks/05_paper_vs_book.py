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
# The paper reports ImageNet (ResNet-50) and CIFAR-10 (Wide ResNet) populations of 30 models per
# level {cite:p}`hooker2019selective`. This book's default is a smaller task on a CPU, so raw counts
# are not comparable; {numref}`tab-paper-vs-book` puts everything on a common scale (change of top-1,
# share of classes significantly affected, share of test images that are PIEs). The verdicts in
# {numref}`tab-verdicts` are computed by fixed rules from the tables of the earlier chapters (see
# `src/pruning_impact/comparison.py`); none is written by hand.

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

from pruning_impact import comparison
from pruning_impact.book import open_chapter
from pruning_impact.robustness_tables import per_model_relative, table5

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
tables, corruption = chapter.tables, chapter.robustness()["corruption_accuracy"]
verdicts = [
    comparison.class_finding(
        tables["class_summary"], tables["aa_calibration"], chapter.analysis_options.correction_label
    ),
    comparison.pie_finding(tables["pie_counts"], tables["pie_noise_floor"], tables["pie_evaluation"]),
    comparison.robustness_finding(per_model_relative(corruption)),
]
for v in verdicts:
    chapter.glue(f"verdict_{v.number}", v.verdict)
    chapter.glue(f"evidence_{v.number}", v.statistic)

# %% [markdown]
# ## Verdicts
#
# 1. *Class-level impact:* **{glue:text}`verdict_1`** ({glue:text}`evidence_1`).
# 2. *PIEs are hard for all models:* **{glue:text}`verdict_2`** ({glue:text}`evidence_2`).
# 3. *Robustness* ({doc}`04_robustness`): **{glue:text}`verdict_3`** ({glue:text}`evidence_3`).

# %% tags=["hide-input"]
chapter.show_table(
    comparison.verdict_table(verdicts),
    "tab-verdicts",
    "The paper's three findings (paraphrased), each with the verdict computed from this population "
    "and the statistic behind it.",
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
    "The paper's reported top lines (its Tables 2 and 3; ImageNet K = 30, "
    "CIFAR-10 K = 30) beside this book's, on a common scale. Significant classes are counted "
    "without correction, as in the paper.",
    digits=2,
)

# %% tags=["hide-input"]
chapter.show_table(
    comparison.class_summary_vs_paper(tables["class_summary"], chapter.dataset),
    "tab-paper-classes",
    "The paper's class-level summary for CIFAR-10 (its Table 4, ten classes like this book's default) "
    "beside this book's, both without correction.",
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
# - A verdict is only as strong as the calibration behind it: each rule compares against the
#   dense-vs-dense noise floor of the same population sizes.
#
# ## Exercises
#
# 1. Read the rules in `src/pruning_impact/comparison.py`. Re-execute the book with
#    `-p population_size 4`: which verdicts change, and is the change a property of pruning or of the
#    population size?
# 2. The paper found fewer significant classes on CIFAR-10 than on ImageNet. Where does this book's
#    dataset fall, and what would you expect for a task with 100 classes?
