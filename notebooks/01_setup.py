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
# # Setup and top-line results
#
# **The question.** When a network is pruned gradually during training, how much top-1 and top-5
# accuracy does each level of sparsity cost, and how much do independently trained models of the same
# level differ from one another?
#
# Everything below is computed from the population this book was built with; change the parameters
# in the next cell and re-execute the notebook to see another one (see {doc}`rerun`).

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

# %% tags=["hide-input"]

import pandas as pd

from pruning_impact import plots, stats
from pruning_impact.book import open_chapter

plots.set_style()
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
)
settings, tables = chapter.settings, chapter.tables
toplines = tables["toplines"].set_index("sparsity")
dense, most_sparse = toplines.loc[0.0], toplines.loc[toplines.index.max()]
chapter.glue("dataset", chapter.dataset)
chapter.glue("k", chapter.k)
chapter.glue("k_dense", chapter.k_dense)
chapter.glue("steps", settings.training.steps)
chapter.glue("begin_step", settings.pruning.begin_step)
chapter.glue("end_step", settings.pruning.end_step)
chapter.glue("frequency", settings.pruning.frequency)
chapter.glue("dense_top1", 100 * dense["top1_mean"])
chapter.glue("dense_top1_std", 100 * dense["top1_std"])
chapter.glue("max_sparsity", 100 * toplines.index.max())
chapter.glue("sparse_top1", 100 * most_sparse["top1_mean"])
chapter.glue("sparse_top1_std", 100 * most_sparse["top1_std"])
chapter.glue("top1_drop", 100 * (dense["top1_mean"] - most_sparse["top1_mean"]))
steepest = stats.steepest_step(toplines["top1_mean"])
chapter.glue("steepest_from", 100 * steepest["from"])
chapter.glue("steepest_to", 100 * steepest["to"])
chapter.glue("steepest_cost", steepest["cost"])
chapter.glue("largest_std", 100 * toplines["top1_std"].max())
chapter.glue("smallest_std", 100 * toplines["top1_std"].min())

# %% [markdown]
# ## How the models are pruned
#
# Every model is trained for {glue:text}`steps` steps on {glue:text}`dataset`. Pruning follows the
# cubic schedule of {cite:t}`zhu2017prune`: starting at step {glue:text}`begin_step`, every
# {glue:text}`frequency` steps the smallest-magnitude weights of each pruned layer are masked until
# step {glue:text}`end_step`, when the final sparsity is reached and the mask is frozen
# ({numref}`fig-schedule`). Masked weights keep their values underneath and can come back while the
# schedule is running.

# %% tags=["hide-input"]
fig = plots.schedule_figure(
    settings.pruning.begin_step,
    settings.pruning.end_step,
    settings.pruning.frequency,
    settings.training.steps,
    settings.population.sparsities,
    settings.pruning.power,
    settings.pruning.initial_sparsity,
)
chapter.show_figure(
    fig,
    "fig-schedule",
    "Scheduled sparsity against training step for each final sparsity t; "
    "dots mark the steps where masks are recomputed.",
)

# %% [markdown]
# ## Top-line accuracy
#
# The dense models reach {glue:text}`dense_top1:.2f`% top-1 (± {glue:text}`dense_top1_std:.2f`, one
# standard deviation over the models). At {glue:text}`max_sparsity:.0f`% sparsity the mean is
# {glue:text}`sparse_top1:.2f`% (± {glue:text}`sparse_top1_std:.2f`), a loss of
# {glue:text}`top1_drop:.2f` points. {numref}`fig-accuracy` shows the spread of the population at
# every level, as the paper's Figure 1 does, and {numref}`tab-toplines` lists the numbers in the
# layout of its Tables 2 and 3.

# %% tags=["hide-input"]
fig = plots.accuracy_distributions(tables["model_accuracies"])
chapter.show_figure(
    fig,
    "fig-accuracy",
    "Distribution of top-1 (left) and top-5 (right) test accuracy over "
    "the independently trained models of each sparsity (cf. the paper's Figure 1).",
)

# %% tags=["hide-input"]
table = tables["toplines"].copy()
for column in ("top1_mean", "top1_std", "top5_mean", "top5_std"):
    table[column] = 100 * table[column]
table = table.rename(
    columns={
        "sparsity": "sparsity t",
        "k": "K",
        "top1_mean": "top-1 (%)",
        "top1_std": "± std",
        "top5_mean": "top-5 (%)",
        "top5_std": "± std ",
        "n_pie": "# PIEs",
    }
)
table.columns = [c.replace("n_significant_", "# signif. classes, ") for c in table.columns]
chapter.show_table(
    table,
    "tab-toplines",
    "Top-1 and top-5 accuracy (mean and standard deviation over the K models), "
    "the number of classes significantly affected (uncorrected as in the paper, and corrected) "
    "and the number of PIEs per sparsity (cf. the paper's Tables 2 and 3).",
    digits=2,
)

# %% [markdown]
# ## How long this population took to build
#
# The latest build that trained models of this population ran on {glue:text}`build_when`.
# {numref}`tab-build-time` gives each stage's time, as `pruning-impact book` measured it; the notebooks
# and the HTML come after these stages and are not in it.

# %% tags=["hide-input"]
timings = chapter.build_timings()
when, timing_table = timings or (
    "no recorded build (these models were not trained by `pruning-impact book`)",
    pd.DataFrame(columns=["stage", "seconds", "minutes", "models", "seconds per model"]),
)
chapter.glue("build_when", when)
total = timing_table["minutes"].iloc[-1] if len(timing_table) else float("nan")
chapter.glue("build_minutes", total)
chapter.show_table(
    timing_table,
    "tab-build-time",
    "Time of each stage of the latest build that trained models of this population (setup: making the virtual "
    "environment and getting the data, from the start of `make book`).",
    digits=1,
)

# %% [markdown]
# ## Take-aways
#
# - On this population, top-1 falls most steeply between {glue:text}`steepest_from:.0f`% and
#   {glue:text}`steepest_to:.0f`% sparsity ({glue:text}`steepest_cost:.3f` points of top-1 per point of
#   sparsity).
# - Independently trained models of one level differ: the standard deviation of top-1 over a level's
#   models ranges from {glue:text}`smallest_std:.2f` to {glue:text}`largest_std:.2f` points. Any
#   comparison of one dense and one pruned model would mix this noise with the effect of pruning, which
#   is why the book, like the paper, compares populations.
#
# ## Exercises
#
# 1. Re-execute this notebook with `-p sparsities "[0, 0.5, 0.9]"`. Which rows of
#    {numref}`tab-toplines` stay exactly the same, and why?
# 2. Predict how the standard deviations change if you re-run with `-p population_size 4`, then check.
# 3. In `src/pruning_impact/profiles.py`, move `end_step` of the profile closer to the end of training,
#    retrain a small population and compare the top-1 at the highest sparsity.
