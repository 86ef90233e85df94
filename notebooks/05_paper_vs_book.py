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
profile = "fashion-mnist"
results_dir = "results"
population_size = None
dense_population_size = None
sparsities = None
seed = None
correction = "fdr_bh"
alpha = 0.05
repeats = 20
data_dir = None

# %% tags=["hide-input"]

from pruning_impact import comparison, robustness
from pruning_impact.book import open_chapter

chapter = open_chapter(profile, results_dir, population_size, dense_population_size, sparsities, seed,
                       correction, alpha, repeats, data_dir)
tables = chapter.tables
corr_label = "none" if correction in (None, "none") else correction
verdicts = [
    comparison.class_finding(tables["class_summary"], tables["aa_calibration"], corr_label),
    comparison.pie_finding(tables["pie_counts"], tables["pie_noise_floor"], tables["pie_evaluation"]),
    comparison.robustness_finding(robustness.per_model_relative(chapter.robustness()["corruption_accuracy"])),
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
chapter.show_table(comparison.verdict_table(verdicts), "tab-verdicts",
                   "The paper's three findings (paraphrased), each with the verdict computed from this population "
                   "and the statistic behind it.")

# %% tags=["hide-input"]
side = comparison.paper_vs_book(tables["toplines"], len(chapter.class_names), chapter.num_test,
                                f"{chapter.dataset} (this book)")
for column in ("top1", "top1_change", "significant_class_fraction", "pie_fraction"):
    side[column] = 100 * side[column]
side = side.rename(columns={"sparsity": "t", "top1": "top-1 (%)", "top1_change": "change vs dense (points)",
                            "significant_class_fraction": "classes signif. (%, uncorrected)",
                            "pie_fraction": "PIEs (% of test set)"})
chapter.show_table(side, "tab-paper-vs-book", "The paper's reported top lines (its Tables 2 and 3; ImageNet K = 30, "
                   "CIFAR-10 K = 30) beside this book's, on a common scale. Significant classes are counted "
                   "without correction, as in the paper.", digits=2)

# %% tags=["hide-input"]
chapter.show_table(comparison.class_summary_vs_paper(tables["class_summary"], chapter.dataset), "tab-paper-classes",
                   "The paper's class-level summary for CIFAR-10 (its Table 4, ten classes like this book's default) "
                   "beside this book's, both without correction.")

# %% tags=["hide-input"]
side = comparison.robustness_vs_paper(robustness.table5(chapter.robustness()["corruption_accuracy"]), chapter.dataset)
side.iloc[:, 1:] *= 100
chapter.show_table(side, "tab-paper-robustness", "Top-1 under corruption relative to clean top-1 (%), mean over "
                   "severities and models: the paper's ImageNet-C results (its Table 5) beside this book's corrupted "
                   "test sets.", digits=1)

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
