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
# # Pruning Identified Exemplars
#
# **The question.** Which test images does pruning change its mind about, and are they special?
#
# An image is a PIE at sparsity $t$ (PIE$_t$) when the most frequent label among the $t$-sparse
# models differs from the most frequent label among the dense models (see {doc}`method`). The true
# label plays no part. A small population's modal label is itself noisy, so every PIE count below
# stands beside a *noise floor*: the number of images on which two disjoint groups of dense models,
# of the same size as the sparse population, disagree.

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
gallery_size = 24  # images per gallery
gallery_seed = 0  # which PIE and non-PIE images are shown

# %% tags=["hide-input"]
from pruning_impact import pie, plots
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
tables = chapter.tables
counts, floor, evaluation, examples = (
    tables["pie_counts"],
    tables["pie_noise_floor"],
    tables["pie_evaluation"],
    tables["examples"],
)
top = counts.loc[counts["sparsity"].idxmax()]
low = counts.loc[counts["sparsity"].idxmin()]
chapter.glue("pie_top_t", 100 * top["sparsity"])
chapter.glue("pie_top_n", int(top["n_pie"]))
chapter.glue("pie_top_pct", 100 * top["pie_fraction"])
chapter.glue("pie_low_t", 100 * low["sparsity"])
chapter.glue("pie_low_n", int(low["n_pie"]))
floor_summary = pie.noise_floor_summary(floor)
chapter.glue("floor_mean", floor_summary["mean"])
chapter.glue("floor_high", floor_summary["high"])
chapter.glue("num_test", chapter.num_test)
dense_eval = evaluation[(evaluation["model_sparsity"] == 0.0) & (evaluation["pie_sparsity"] == top["sparsity"])]
by_subset = dense_eval.set_index("subset")["top1_mean"]
chapter.glue("dense_on_pie", 100 * by_subset.get("pie", float("nan")))
chapter.glue("dense_on_nonpie", 100 * by_subset.get("non_pie", float("nan")))
chapter.glue("dense_on_random", 100 * by_subset.get("random", float("nan")))

# %% [markdown]
# ## How many PIEs, against the noise floor
#
# Of the {glue:text}`num_test` test images, {glue:text}`pie_top_n` ({glue:text}`pie_top_pct:.2f`%)
# are PIEs at {glue:text}`pie_top_t:.0f`% sparsity and {glue:text}`pie_low_n` at
# {glue:text}`pie_low_t:.0f`%. Two disjoint groups of dense models disagree on
# {glue:text}`floor_mean:.1f` images on average (97.5th percentile over the splits:
# {glue:text}`floor_high:.1f`): only counts clearly above that floor say something about pruning
# ({numref}`fig-pie-counts`).

# %% tags=["hide-input"]
fig = plots.pie_counts_figure(counts, floor)
chapter.show_figure(
    fig,
    "fig-pie-counts",
    "Number of PIEs per sparsity (bars) against the dense-vs-dense noise "
    "floor: two disjoint random groups of dense models of the sparse population's size (dashed: "
    "mean; band: 95% of the splits).",
)

# %% [markdown]
# ## PIEs are hard for every model
#
# On PIE$_{t}$ at the highest sparsity the dense models score {glue:text}`dense_on_pie:.1f`% top-1,
# against {glue:text}`dense_on_nonpie:.1f`% on the other images and {glue:text}`dense_on_random:.1f`%
# on random samples of the same size ({numref}`fig-pie-eval-dense`, cf. the paper's Figure 4).
# {numref}`fig-pie-eval-sparse` repeats the comparison for the pruned populations (cf. its Figure 10).

# %% tags=["hide-input"]
fig = plots.pie_evaluation_figure(evaluation, [0.0])
chapter.show_figure(
    fig,
    "fig-pie-eval-dense",
    "Top-1 accuracy of the dense reference models restricted to PIE_t "
    "images, to non-PIE_t images, and to random samples of the test set as large as PIE_t, against "
    "the sparsity t at which the PIEs were identified; bands: 95% intervals (over models for PIE and "
    "non-PIE, over random samples for the random subsets).",
    width="60%",
)

# %% tags=["hide-input"]
sparse_levels = sorted(s for s in evaluation["model_sparsity"].unique() if s > 0)
shown = (
    sparse_levels
    if len(sparse_levels) <= 3
    else [sparse_levels[0], sparse_levels[len(sparse_levels) // 2], sparse_levels[-1]]
)
fig = plots.pie_evaluation_figure(evaluation, shown)
chapter.show_figure(
    fig,
    "fig-pie-eval-sparse",
    "The same comparison for pruned populations, one panel per sparsity of the evaluated models.",
)

# %% [markdown]
# ## What PIEs look like
#
# {numref}`fig-pie-gallery` shows PIEs at the highest sparsity with their true label and the modal
# labels of the dense and sparse populations; {numref}`fig-nonpie-gallery` shows images that are not
# PIEs, drawn at random, for contrast (cf. the paper's Figures 2 and 6).

# %% tags=["hide-input"]
top_t = top["sparsity"]
picked_pie, picked_non = pie.sample_exemplars(examples, top_t, gallery_size, gallery_seed)
for rows, name, caption in (
    (
        picked_pie,
        "fig-pie-gallery",
        f"PIEs at {top_t * 100:.0f}% sparsity, chosen at random "
        "(seeded): true label, dense modal label and sparse modal label.",
    ),
    (
        picked_non,
        "fig-nonpie-gallery",
        f"Images that are not PIEs at {top_t * 100:.0f}% sparsity, chosen at random (seeded), for contrast.",
    ),
):
    fig = plots.exemplar_gallery(chapter.test_images(rows["example"].to_numpy()), rows, chapter.class_names)
    chapter.show_figure(fig, name, caption)

# %% [markdown]
# ## Take-aways
#
# - PIEs are found without looking at the true label, yet the dense models, which took part in
#   finding them, do much worse on them than on the rest of the test set.
# - A PIE count is only meaningful against the dense-vs-dense floor at the same population sizes.
#
# ## Exercises
#
# 1. Re-execute with `-p population_size 4`. Predict the change of the noise floor and of the PIE
#    counts, then check which of the two moves more.
# 2. Change `gallery_seed` and look at three more galleries. Which properties of PIEs listed in the
#    paper (atypical examples, ambiguous labels, fine-grained classes) do you see?
# 3. Why can a PIE be an image that the dense models classify correctly? Find one in the gallery.
