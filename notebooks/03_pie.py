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
# # Pruning Identified Exemplars
#
# :::{admonition} What you will learn
# :class: tip
# - what a Pruning Identified Exemplar (PIE) is and how to count them against a noise floor;
# - why PIEs are scored with models that did not choose them;
# - what PIEs look like next to images that are not PIEs.
# :::
#
# **The question.** Which test images does pruning change its mind about, and are they special?
#
# An image is a PIE at sparsity $t$ (PIE$_t$) when the most frequent label among the $t$-sparse
# models differs from the most frequent label among the dense models (see {doc}`00_method`). The true
# label plays no part. A small population's modal label is itself noisy, so every PIE count below
# stands beside a *noise floor*: the number of images on which two disjoint groups of dense models,
# of the same size as the sparse population, disagree.

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
gallery_size = 24  # type: int  images per gallery
gallery_seed = 0  # type: int  which PIE and non-PIE images the galleries show

# %% tags=["hide-input"]
from pruning_impact import verdicts
from pruning_impact.analysis import pie
from pruning_impact.book import open_chapter, plots
from pruning_impact.training.datasets import test_images

plots.set_style()
chapter = open_chapter(vars())
tables, alpha_used = chapter.tables, chapter.analysis_options.alpha
counts, floor, evaluation, examples = (
    tables["pie_counts"],
    tables["pie_noise_floor"],
    tables["pie_evaluation"],
    tables["examples"],
)
levels = verdicts.pie_levels(tables)
hardness = verdicts.pie_hardness_levels(tables)
specific = verdicts.pie_specific_levels(tables)
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
chapter.glue("floor_pct", 97.5)
chapter.glue("num_test", chapter.num_test)
chapter.glue("k_held_out", chapter.settings.population.held_out_size)


def on(scorer: str, subset: str, t: float) -> float:
    rows = evaluation[(evaluation["scorer"] == scorer) & (evaluation["subset"] == subset)]
    rows = rows[rows["pie_sparsity"] == t]
    return 100 * float(rows["top1_mean"].iloc[0]) if len(rows) else float("nan")


chapter.glue("defining_on_pie", on("dense reference", "pie", top["sparsity"]))
chapter.glue("held_on_pie", on("dense held-out", "pie", top["sparsity"]))
chapter.glue("held_on_random", on("dense held-out", "random", top["sparsity"]))
chapter.glue("held_on_floor", 100 * floor["held_out_top1"].mean())
by_level = hardness.set_index("sparsity")
chapter.glue(
    "sparse_scored",
    f"the sparse models of the other levels score {100 * by_level.loc[top['sparsity'], 'sparse_on_pie']:.1f}% on it"
    if "sparse_on_pie" in by_level
    else "no sparse model is held out (one sparse level)",
)
found = verdicts.analysis_verdicts(tables, alpha_used)[3:]
for v in found:
    chapter.glue(f"verdict_{v.label}", v.verdict)
    chapter.glue(f"evidence_{v.label}", v.statistic)

# %% [markdown]
# ## How many PIEs, against the noise floor
#
# Of the {glue:text}`num_test` test images, {glue:text}`pie_top_n` ({glue:text}`pie_top_pct:.2f`%)
# are PIEs at {glue:text}`pie_top_t:.0f`% sparsity and {glue:text}`pie_low_n` at
# {glue:text}`pie_low_t:.0f`%. Two disjoint groups of dense models disagree on
# {glue:text}`floor_mean:.1f` images on average ({glue:text}`floor_pct:.1f`th percentile over the
# splits: {glue:text}`floor_high:.1f`); a PIE count says something about pruning only where it
# stands out from chance ({numref}`fig-pie-counts`, {numref}`tab-pie-levels`).
#
# - “More PIEs than chance”: **{glue:text}`verdict_2a`** ({glue:text}`evidence_2a`).
# - “The number of PIEs grows with sparsity”: **{glue:text}`verdict_2t`** ({glue:text}`evidence_2t`).

# %% tags=["hide-input"]
fig = plots.pie_counts_figure(counts, floor)
chapter.show_figure(
    fig,
    "fig-pie-counts",
    "Number of PIEs per sparsity (bars) against the dense-vs-dense noise "
    "floor: two disjoint random groups of dense models of the sparse population's size (dashed: "
    "mean; band: 95% of the splits).",
)

# %% tags=["hide-input"]
view = levels[["sparsity", "n_pie", "floor_mean", "permuted_mean", "p_count_holm"]].rename(
    columns={
        "sparsity": "t",
        "n_pie": "# PIE",
        "floor_mean": "dense-vs-dense (mean)",
        "permuted_mean": "permuted (mean)",
        "p_count_holm": "p, more PIEs",
    }
)
chapter.show_table(
    view,
    "tab-pie-levels",
    "Per level: PIE counts beside the dense-vs-dense floor and the permutation distribution (reference "
    "and t-sparse models pooled and re-split; the one-sided p-value for more PIEs comes from it, "
    "Holm-corrected over levels).",
    digits=3,
)

# %% [markdown]
# ## PIEs scored by models that did not choose them
#
# A population splits its vote where its models are unsure, and they get many of those images wrong,
# so the models that chose PIE$_t$ cannot tell us whether PIEs are special. At
# {glue:text}`pie_top_t:.0f`% sparsity the dense models that defined PIE$_t$ score
# {glue:text}`defining_on_pie:.1f`% on it (the paper's figure), and the {glue:text}`k_held_out`
# held-out dense models score {glue:text}`held_on_pie:.1f`%, against {glue:text}`held_on_random:.1f`%
# on random samples of the same size and {glue:text}`held_on_floor:.1f`% on images where two dense
# groups disagree ({numref}`fig-pie-eval-dense`); {glue:text}`sparse_scored`. The paper's claim
# compares PIEs with random and non-PIE
# images. An image counts as “hard” for a group when most of its models get it wrong; with no effect
# PIE$_t$ would be a random subset of the test set for the held-out models, so its number of such images
# is hypergeometric and the test is exact ({numref}`tab-pie-hardness`). A stricter question, beyond the
# paper, is whether the hardness is specific to pruning: would images that two populations disagree on
# by chance, at the same closeness of the vote, score as low? So PIE$_t$ is set against chance
# disagreement sets (dense-vs-dense, sparse-vs-sparse halves and the permuted re-splits) at the same
# vote margin of the defining dense models, at the levels where PIEs exceed chance
# ({numref}`tab-pie-specific`).
#
# - “PIEs are harder than random and non-PIE images, for dense and sparse models”:
#   **{glue:text}`verdict_2`** ({glue:text}`evidence_2`).
# - “Beyond the paper: the hardness is specific to pruning”: **{glue:text}`verdict_2s`**
#   ({glue:text}`evidence_2s`).
# - “PIEs found at the lowest sparsity are harder than at the highest”: **{glue:text}`verdict_2l`**
#   ({glue:text}`evidence_2l`).

# %% tags=["hide-input"]
columns = {
    "sparsity": "t",
    "n_pie": "# PIE",
    "dense_on_pie": "dense on PIE",
    "dense_on_non_pie": "dense on non-PIE",
    "dense_on_random": "dense on random",
    "sparse_on_pie": "sparse on PIE",
    "sparse_on_non_pie": "sparse on non-PIE",
    "sparse_on_random": "sparse on random",
    "p_harder_holm": "p, harder for both",
    "p_easier_holm": "p, easier",
}
chapter.show_table(
    hardness[[c for c in columns if c in hardness]].rename(columns=columns),
    "tab-pie-hardness",
    "Claim 2 per level: top-1 of the held-out dense models and of the other levels' sparse models on PIE_t, "
    "on the other images and on all of them (the mean of random samples of PIE_t's size); exact "
    "hypergeometric p-values for more (fewer) images that most of a group's models get wrong than a random "
    "set of that size holds, the larger of the two groups' for harder, Holm-corrected over levels.",
    digits=3,
)

# %% tags=["hide-input"]
if len(specific):
    chapter.show_table(
        specific.rename(
            columns={
                "sparsity": "t",
                "n_pie": "# PIE",
                "residual": "PIE_t less matched chance",
                "null_mean": "chance sets (mean)",
                "null_sd": "chance sets (sd)",
                "null_sets": "# chance sets",
                "p_harder": "p, harder",
                "p_easier": "p, easier",
                "p_equivalent": "p, equivalent",
            }
        ),
        "tab-pie-specific",
        "Claim 2s per level: the held-out dense models' top-1 on PIE_t less what chance disagreement sets "
        "score at the same vote margins of the defining dense models, against the same quantity for every "
        "chance set (dense-vs-dense splits, sparse-vs-sparse halves, permuted re-splits); one-sided "
        "empirical p-values and the equivalence p-value within the margin (uncorrected here; the verdict "
        "applies Holm over the levels where PIEs exceed chance).",
        digits=3,
    )


# %% tags=["hide-input"]
dense_scorers = [name for name in ("dense reference", "dense held-out") if name in set(evaluation["scorer"])]
fig = plots.pie_evaluation_figure(evaluation, dense_scorers, floor)
chapter.show_figure(
    fig,
    "fig-pie-eval-dense",
    "Top-1 accuracy of dense models restricted to PIE_t images, to non-PIE_t images, and to random "
    "samples of the test set as large as PIE_t, against the sparsity t at which the PIEs were "
    "identified. Left: the reference models, which chose every PIE_t (the paper's Figure 4); right: "
    "held-out dense models, with their accuracy on dense-vs-dense disagreement sets (dashed, band: 95% "
    "of the splits). Bands: 95% intervals over models (PIE, non-PIE) or random samples.",
)

# %% tags=["hide-input"]
sparse_scorers = pie.sparse_scorers(evaluation)
shown = (
    sparse_scorers
    if len(sparse_scorers) <= 3
    else [sparse_scorers[0], sparse_scorers[len(sparse_scorers) // 2], sparse_scorers[-1]]
)
fig = plots.pie_evaluation_figure(evaluation, shown)
chapter.show_figure(
    fig,
    "fig-pie-eval-sparse",
    "The same comparison for pruned populations, one panel per sparsity of the scoring models (cf. the "
    "paper's Figure 10); hollow points: the panel's models chose that PIE_t, filled: they are held out.",
)

# %% [markdown]
# ## What PIEs look like
#
# {numref}`fig-pie-gallery` shows PIEs at the highest sparsity with their true label and the modal
# labels of the dense and sparse populations; {numref}`fig-nonpie-gallery` shows images that are not
# PIEs, drawn at random, for contrast (cf. the paper's Figures 2 and 6).

# %% tags=["hide-input"]
top_t = top["sparsity"]
picked_pie, picked_non = pie.sample_exemplars(
    examples, top_t, chapter.parameter("gallery_size"), chapter.parameter("gallery_seed")
)
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
    fig = plots.exemplar_gallery(
        test_images(chapter.settings.data, rows["example"].to_numpy()), rows, chapter.class_names
    )
    chapter.show_figure(fig, name, caption)

# %% [markdown]
# ## Take-aways
#
# - PIEs are found without looking at the true label; whether they are special is a question for
#   models that did not choose them, against sets chosen the same way without pruning.
# - A PIE count is only meaningful against the noise floor at the same population sizes.
#
# ## Exercises

# %% [markdown]
# :::{exercise}
# :label: ex-pie-small-k
# Re-execute with a smaller population, `-p population_size 4`. Predict how the noise floor and the PIE
# count at the highest sparsity change, then check which of the two moves more.
# :::

# %% tags=["solution", "remove-input"]
small_tables = chapter.with_parameters(population_size=chapter.smaller_k).tables
small_counts = small_tables["pie_counts"].set_index("sparsity")
chapter.glue("sol_small_k", chapter.smaller_k)
chapter.glue("sol_small_floor", pie.noise_floor_summary(small_tables["pie_noise_floor"])["mean"])
chapter.glue("sol_small_pie", int(small_counts.loc[top["sparsity"], "n_pie"]))
floor_change = pie.noise_floor_summary(small_tables["pie_noise_floor"])["mean"] - floor_summary["mean"]
pie_change = int(small_counts.loc[top["sparsity"], "n_pie"]) - int(top["n_pie"])
chapter.glue("sol_floor_change", floor_change)
chapter.glue("sol_pie_change", pie_change)
chapter.glue("sol_moves_more", "the noise floor" if abs(floor_change) > abs(pie_change) else "the PIE count")

# %% [markdown] tags=["solution"]
# :::{solution} ex-pie-small-k
# :class: dropdown
# A modal label over fewer models is noisier, so two groups of dense models are expected to disagree
# on more images, and the PIE count contains the same noise. With {glue:text}`sol_small_k` models, the
# floor is {glue:text}`sol_small_floor:.1f` images (a change of {glue:text}`sol_floor_change:+.1f`
# from {glue:text}`floor_mean:.1f`) and PIE$_{t}$ at {glue:text}`pie_top_t:.0f`% sparsity counts
# {glue:text}`sol_small_pie` images (a change of {glue:text}`sol_pie_change:+d` from
# {glue:text}`pie_top_n`): {glue:text}`sol_moves_more` moves more. Only the excess over the floor
# measures pruning.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-pie-correct
# Can a PIE be an image that the dense models classify correctly? Count them at the highest sparsity.
# :::

# %% tags=["solution", "remove-input"]
at_top = examples[examples["sparsity"] == top["sparsity"]].set_index("example")
dense_modal = examples[examples["sparsity"] == 0.0].set_index("example")["modal"]
top_pies = at_top[at_top["is_pie"]]
correct = int((dense_modal.loc[top_pies.index] == top_pies["label"]).sum())
chapter.glue("sol_pie_correct", correct)
chapter.glue("sol_pie_correct_pct", 100 * correct / max(len(top_pies), 1))

# %% [markdown] tags=["solution"]
# :::{solution} ex-pie-correct
# :class: dropdown
# Yes: the definition compares the modal labels of the two populations and never looks at the true
# label. At {glue:text}`pie_top_t:.0f`% sparsity, {glue:text}`sol_pie_correct` of the
# {glue:text}`pie_top_n` PIEs ({glue:text}`sol_pie_correct_pct:.1f`%) have a dense modal label equal
# to the true label: pruning made the population wrong on them.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-pie-gallery
# Change `gallery_seed` and look at a few more galleries. Which of the properties the paper lists for
# PIEs (atypical or corrupted images, ambiguous or wrong labels, fine-grained classes) do you see?
# :::

# %% [markdown] tags=["solution"]
# :::{solution} ex-pie-gallery
# :class: dropdown
# There is no single answer: it is a judgement on images, which is why the paper had people code them
# by hand. Count, for one gallery of PIEs and one of non-PIEs, how many images you would call
# atypical or mislabelled; the non-PIE gallery is the baseline that the PIE share is compared with.
# :::
