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
# # Setup and top-line results
#
# :::{admonition} What you will learn
# :class: tip
# - how top-1 and top-5 accuracy change with sparsity for this population;
# - how much independently trained models of one sparsity differ;
# - how long the population took to build, stage by stage.
# :::
#
# **The question.** When a network is pruned gradually during training, how much top-1 and top-5
# accuracy does each level of sparsity cost, and how much do independently trained models of the same
# level differ from one another?
#
# Everything below is computed from the population this book was built with; change the parameters
# in the next cell and re-execute the notebook to see another one (see {doc}`rerun`).

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

# %% tags=["hide-input"]
from pruning_impact.analysis import stats
from pruning_impact.book import open_chapter, plots
from pruning_impact.book.build_record import build_timings

plots.set_style()
chapter = open_chapter(vars())
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
when, timing_table = build_timings(chapter.results_dir, chapter.settings)
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

# %% [markdown]
# :::{exercise}
# :label: ex-setup-sparsities
# Re-execute this notebook with only the dense and the highest sparsity, for example
# `-p sparsities "[0, 0.9]"`. Which rows of {numref}`tab-toplines` stay exactly the same, and why?
# :::

# %% tags=["solution", "remove-input"]
top_level = float(toplines.index.max())
subset = chapter.with_parameters(sparsities=[0.0, top_level]).tables["toplines"].set_index("sparsity")
same = [t for t in subset.index if subset.loc[t].equals(toplines.loc[t])]
chapter.glue("sol_subset_levels", ", ".join(f"{100 * t:.0f}%" for t in subset.index))
chapter.glue("sol_subset_same", f"{len(same)} of {len(subset)}")
chapter.glue(
    "sol_subset_why",
    "as expected, since"
    if len(same) == len(subset)
    else "which needs a look: the design says they should all be, since",
)

# %% [markdown] tags=["solution"]
# :::{solution} ex-setup-sparsities
# :class: dropdown
# Re-executed with the levels {glue:text}`sol_subset_levels`, {glue:text}`sol_subset_same` rows are
# identical to the full table, {glue:text}`sol_subset_why` every number in a row compares that level's
# models with the same dense reference, and the models are read, not retrained.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-setup-std
# Predict how the standard deviation of top-1 changes when the notebook is re-executed with a smaller
# population (`-p population_size 4`), then check.
# :::

# %% tags=["solution", "remove-input"]
small = chapter.with_parameters(population_size=chapter.smaller_k).tables["toplines"].set_index("sparsity")
chapter.glue("sol_small_k", chapter.smaller_k)
chapter.glue("sol_std_full", 100 * toplines["top1_std"].loc[top_level])
chapter.glue("sol_std_small", 100 * small["top1_std"].loc[top_level])

# %% [markdown] tags=["solution"]
# :::{solution} ex-setup-std
# :class: dropdown
# The standard deviation estimates the spread between training runs; a smaller sample does not make
# the runs agree more, it only makes the estimate noisier. At the highest sparsity it is
# {glue:text}`sol_std_full:.2f` points with all {glue:text}`k` models and
# {glue:text}`sol_std_small:.2f` points with the first {glue:text}`sol_small_k` of them. What fewer
# models do change is the precision of the mean: its standard error grows as $1/\sqrt{K}$.
# :::
