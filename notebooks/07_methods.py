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

# %%

# %% [markdown]
# # Other compression methods
#
# :::{admonition} What you will learn
# :class: tip
# - how to ask the paper's questions of any compression method: random pruning, one threshold for all
#   layers, post-training quantization;
# - two disparity measures of the follow-up literature, CEV and SDE, against their noise floor;
# - a continuous exemplar score (the taxicab distance) and a score that needs no compressed model at all
#   (the variance of gradients, VoG).
# :::
#
# **The question.** Is what pruning forgets specific to magnitude pruning, or does any compression
# forget the same images and classes? And is it *which* weights are removed that matters, or only how
# many?
#
# Every method below is compared with the same dense reference (the first K dense models). Its
# partners, the next K dense models, form a row of their own, "none": the same comparison where
# nothing was compressed, and the pool of every noise floor. A pruning method trains K models at the
# highest sparsity with the paper's schedule; the quantized rows are those partners converted after
# training, so that they are as independent of the reference as a pruned population is. Images whose
# modal label changes are *Compression Identified Exemplars* (CIEs), the PIEs of any method. The
# remaining dense models define nothing and score every set.

# %% tags=["parameters", "hide-input"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
population_size = None  # type: int|None  K models per sparse level, up to the trained K (None: the profile's)
dense_population_size = None  # type: int|None  dense models, up to the trained number (None: the profile's)
seed = None  # type: int|None  base seed of the population (None: the profile's)
data_dir = None  # type: str|None  folder of the dataset, to show test images (None: the profile's)
correction = None  # type: str|None  correction beside the uncorrected test: fdr_bh, bonferroni or "none" (None: fdr_bh)
alpha = None  # type: float|None  significance level of the tests and verdicts (None: 0.05)
repeats = None  # type: int|None  random dense splits behind each noise floor (None: 200)
random_samples = None  # type: int|None  random samples as large as PIE_t in the PIE evaluation (None: 100)
methods = None  # type: list|None  compression methods compared with magnitude pruning, a list or text such as "random quantize-int8" (None: random quantize-fp16 quantize-int8)
comparison_size = None  # type: int|None  K models per method in the comparison, up to the trained K (None: 5, or K if smaller)

# %% tags=["hide-input"]
from pruning_impact.book import open_chapter, plots, prose

plots.set_style()
chapter = open_chapter(vars())
methods_used, k, tables = chapter.comparison()
levels, class_effects, overlap, shared = (tables[n] for n in ("levels", "class_effects", "overlap", "shared"))
scores, agreement = tables["scores"], tables["class_agreement"]
row = {(r.method, r.level_name): r for r in levels.itertuples()}
magnitude = levels[levels["method"] == "magnitude"].iloc[0]
dense_row = levels[levels["level_name"] == "dense"].iloc[0]
chapter.glue("k", k)
chapter.glue("pct", 97.5)  # the percentile of every noise floor the chapter reads against
at_k = f"Every method at K = {k} models, against a reference of {k} dense models."
chapter.glue("top_t", magnitude["level_name"])
chapter.glue("k_held", int(magnitude["held_out_models"]))
chapter.glue("methods_list", ", ".join(methods_used))
chapter.glue("floor_p975", magnitude["cie_floor_p975"])
chapter.glue("n_cie_magnitude", int(magnitude["n_cie"]))
chapter.glue("n_cie_none", int(dense_row["n_cie"]))
compressed = levels[levels["level_name"] != "dense"]
above = compressed[compressed["n_cie"] > compressed["cie_floor_p975"]]
chapter.glue("n_rows", len(compressed))
chapter.glue("n_above", len(above))
chapter.glue(
    "rows_above", ", ".join(prose.row_label(m, n) for m, n in zip(above["method"], above["level_name"])) or "none"
)
cev_above = compressed[compressed["cev"] > compressed["cev_floor_p975"]]
chapter.glue("n_cev_above", len(cev_above))
chapter.glue(
    "rows_cev_above",
    ", ".join(prose.row_label(m, n) for m, n in zip(cev_above["method"], cev_above["level_name"])) or "none",
)
chapter.glue("cev_floor", magnitude["cev_floor_p975"])
chapter.glue("sde_floor", magnitude["sde_floor_p975"])
chapter.glue("cev_magnitude", magnitude["cev"])
chapter.glue("sde_magnitude", magnitude["sde"])

# %% [markdown]
# ## The methods, and their top-1
#
# {numref}`tab-methods` lists each method compared with magnitude pruning at {glue:text}`top_t`
# sparsity ({glue:text}`methods_list`), K = {glue:text}`k` models each. For the quantized rows, the
# last column says on what fraction of the test images a quantized model gives the same label as the
# dense model it was made from.

# %% tags=["hide-input"]
view = levels[["method", "level_name", "k", "top1_mean", "top1_std", "agreement_with_source"]].rename(
    columns={
        "level_name": "level",
        "top1_mean": "top-1 (mean)",
        "top1_std": "top-1 (std)",
        "agreement_with_source": "same label as its dense model",
    }
)
chapter.show_table(
    view,
    "tab-methods",
    "Each compression method against the same dense reference: the level (sparsity or number type), K, "
    "top-1 as mean and standard deviation over the K models, and, for quantized models, their agreement "
    "with the dense models they were converted from. Row 'none': the reference's dense partners." + " " + at_k,
)

# %% [markdown]
# ## Class by class
#
# The paper's class test (Welch's t-test on mean-shifted class accuracy, uncorrected, as in
# {doc}`02_class_impact`) runs for every method against the same reference
# ({numref}`fig-methods-classes`). Magnitude pruning changes {glue:text}`n_sig_magnitude` classes
# significantly; the "none" row, where nothing was compressed, {glue:text}`n_sig_none`.
# {glue:text}`random_sentence`

# %% tags=["hide-input"]
significant = dict(zip(levels["method"], levels["n_significant_none"]))
chapter.glue("n_sig_magnitude", int(significant["magnitude"]))
chapter.glue("n_sig_none", int(dense_row["n_significant_none"]))
chapter.glue("random_sentence", prose.random_sentence(tables))
fig = plots.methods_class_figure(class_effects)
chapter.show_figure(
    fig,
    "fig-methods-classes",
    "Normalized recall difference (Eq. 1) of every class under each method, against the same dense "
    "reference; * marks a significant class (Welch's t-test, uncorrected)." + " " + at_k,
)

# %% [markdown]
# ## Disparity measures: CEV and SDE
#
# Blakeney et al. measure disparate impact by how each class's false-positive and false-negative rates
# change, relative to the dense model's: CEV is the spread of those changes around their mean, SDE the
# mean gap between a class's change in false negatives and in false positives (definitions in
# `pruning_impact.analysis.disparity`). Both are non-zero even when nothing is compressed, because two groups of
# dense models already differ, so each stands beside its noise floor: the same measure between two
# disjoint groups of K dense models ({glue:text}`pct:.1f`th percentile: CEV {glue:text}`cev_floor:.3f`,
# SDE {glue:text}`sde_floor:.3f`). Magnitude pruning reads CEV {glue:text}`cev_magnitude:.3f` and SDE
# {glue:text}`sde_magnitude:.3f`; {glue:text}`n_cev_above` of the {glue:text}`n_rows` compressed rows
# have a CEV above the floor's {glue:text}`pct:.1f`th percentile ({glue:text}`rows_cev_above`;
# {numref}`fig-methods-measures`).

# %% [markdown]
# For magnitude pruning, {numref}`tab-methods-sparsity` follows both measures over every sparsity of the
# population, at the same K and against the same reference.

# %% tags=["hide-input"]
chapter.show_table(
    tables["magnitude_levels"][["sparsity", "n_cie", "cev", "sde", "undefined_classes"]].rename(
        columns={"n_cie": "# CIE", "cev": "CEV", "sde": "SDE", "undefined_classes": "classes left out"}
    ),
    "tab-methods-sparsity",
    "Magnitude pruning at every sparsity against the dense reference, K models each: exemplars, CEV and SDE, "
    "and the classes left out of both because a dense error rate of zero makes their relative change undefined."
    + " "
    + at_k,
    digits=3,
)

# %% tags=["hide-input"]
fig = plots.methods_measures_figure(levels)
chapter.show_figure(
    fig,
    "fig-methods-measures",
    "Per method: images whose modal label changed against the reference (CIEs), CEV and SDE (log "
    "scale), each against its dense-vs-dense noise floor (dashed: mean; grey: up to its 97.5th percentile)."
    + " "
    + at_k,
)
chapter.show_table(
    levels[["method", "level_name", "cev", "cev_floor_p975", "sde", "sde_floor_p975", "undefined_classes"]].rename(
        columns={
            "level_name": "level",
            "cev": "CEV",
            "cev_floor_p975": "CEV floor",
            "sde": "SDE",
            "sde_floor_p975": "SDE floor",
            "undefined_classes": "left out",
        }
    ),
    "tab-methods-measures",
    "CEV and SDE of each row against the dense reference, beside their floors (the 97.5th percentile of each "
    "over random splits of the reference's pool into two dense groups), and the classes left out of both (a "
    "dense error rate of zero makes their relative change undefined)." + " " + at_k,
    digits=3,
)

# %% [markdown]
# ## Compression Identified Exemplars
#
# Magnitude pruning changes the modal label of {glue:text}`n_cie_magnitude` images; the "none" row,
# {glue:text}`n_cie_none`; the {glue:text}`pct:.1f`th percentile of the dense-vs-dense floor is
# {glue:text}`floor_p975:.1f`. {glue:text}`n_above` of the {glue:text}`n_rows` compressed rows find more
# exemplars than that ({glue:text}`rows_above`).
#
# **Do the methods find the same images?** {numref}`tab-methods-overlap` gives the Jaccard index of
# each pair of exemplar sets, beside what two independent sets of the same sizes would share.
# {glue:text}`overlap_sentence`

# %% tags=["hide-input"]
chapter.glue("overlap_sentence", prose.overlap_sentence(tables))
level_names = dict(zip(levels["level"], levels["level_name"])) | {0.0: "dense"}
view = overlap.assign(
    a=[prose.row_label(m, level_names[v]) for m, v in zip(overlap["method_a"], overlap["level_a"])],
    b=[prose.row_label(m, level_names[v]) for m, v in zip(overlap["method_b"], overlap["level_b"])],
)[["a", "b", "n_a", "n_b", "n_both", "expected_both", "jaccard"]].rename(
    columns={"n_both": "shared", "expected_both": "shared if independent", "jaccard": "Jaccard"}
)
chapter.show_table(
    view,
    "tab-methods-overlap",
    "Overlap of the exemplar sets of each pair of rows: their sizes, the images they share, what independent "
    "sets of these sizes would share on average, and the Jaccard index (shared / union)." + " " + at_k,
    digits=3,
)

# %% [markdown]
# **Do the same hard images keep appearing?** The pruning methods' models are trained independently of
# each other and of the reference, so the images in all their exemplar sets are found again and again
# (the quantized rows are left out: they are the partners converted). {glue:text}`shared_sentence`
# ({numref}`tab-methods-shared`, {numref}`tab-methods-hardness`).

# %% tags=["hide-input"]
chapter.glue("shared_sentence", prose.shared_sentence(tables))
chapter.show_table(
    shared.rename(columns={"expected_if_independent": "expected if independent", "held_out_top1": "held-out top-1"}),
    "tab-methods-shared",
    "Images in the exemplar set of every pruning method, in both sets made without compression (the floor), "
    "and all test images: the sets intersected, how many images, how many independent sets of these sizes "
    "would share, and the top-1 of the held-out dense models on them." + " " + at_k,
    digits=3,
)
view = levels[["method", "level_name", "n_cie", "held_out_top1_cie", "held_out_top1_random"]].rename(
    columns={
        "level_name": "level",
        "n_cie": "# CIE",
        "held_out_top1_cie": "held-out top-1 on CIEs",
        "held_out_top1_random": "held-out top-1 on random sets",
    }
)
chapter.show_table(
    view,
    "tab-methods-hardness",
    "Each row's exemplars scored by the held-out dense models, against random test samples of the same size "
    "(mean over samples). The 'none' row's set is where two dense groups disagree: the yardstick." + " " + at_k,
    digits=3,
)

# %% [markdown]
# ## A continuous exemplar score, and one that needs no compressed model
#
# The PIE flag is all or nothing. Hooker et al. (2020) also rank images by the taxicab (L1) distance
# between the dense and the compressed population's label distributions: zero when both populations
# vote alike, largest when they share no label. The flag is the case where the distributions differ enough to
# move the most frequent label. At {glue:text}`top_t` sparsity the score ranks magnitude pruning's
# exemplars above the other images with an AUC of {glue:text}`taxicab_auc:.3f` (one when every
# exemplar scores above every other image, a half by chance), left panel of {numref}`fig-methods-scores`. Flag and score come from
# the same predictions, so this AUC says how closely the flag follows the score, not that either finds
# anything: for the "none" row, where nothing was compressed, it is {glue:text}`taxicab_auc_none:.3f`.
# What the score adds is an order within and around the set.
#
# Agarwal et al.'s variance of gradients (VoG) asks how much the gradient of an image's true-class
# score with respect to its pixels changes over training, from checkpoints of dense models alone.
# {glue:text}`vog_sentence`

# %% tags=["hide-input"]
chapter.glue("taxicab_auc", magnitude["taxicab_auc_cie"])
chapter.glue("taxicab_auc_none", dense_row["taxicab_auc_cie"])
top_name = magnitude["level_name"]
has_vog = "vog" in scores
chapter.glue("vog_sentence", prose.vog_sentence(tables))
fig = plots.taxicab_figure(
    scores, f"taxicab magnitude {top_name}", f"cie magnitude {top_name}", "vog" if has_vog else None
)
chapter.show_figure(
    fig,
    "fig-methods-scores",
    "Distribution of the taxicab score (left) and of VoG (right, when computed) over the test images whose "
    "modal label magnitude pruning changed and over the others." + " " + at_k,
)

# %% [markdown]
# ## Take-aways
#
# - Any compression method can be asked the paper's questions, if its population is compared with the
#   same dense reference, at the same K, and beside the same comparison where nothing was compressed.
# - Disparity measures such as CEV and SDE, and exemplar counts, are non-zero between two groups of dense
#   models: read them against their noise floor.
# - Overlap between two methods' exemplar sets means little until it is set against what two sets made
#   without compression share.
#
# ## Exercises

# %% [markdown]
# :::{exercise}
# :label: ex-methods-bits
# Before looking at {numref}`tab-methods`: which of the two quantized populations, float16 or int8,
# do you expect to change more modal labels against the reference, and how should either compare with
# the "none" row? Check with the table's numbers.
# :::

# %% tags=["solution", "remove-input"]
quantized_rows = levels[levels["method"].str.startswith("quantize")].set_index("level_name")
for bits in ("fp16", "int8"):
    present = bits in quantized_rows.index
    chapter.glue(f"sol_cie_{bits}", int(quantized_rows.loc[bits, "n_cie"]) if present else -1)
    chapter.glue(
        f"sol_agree_{bits}", 100 * quantized_rows.loc[bits, "agreement_with_source"] if present else float("nan")
    )

# %% [markdown] tags=["solution"]
# :::{solution} ex-methods-bits
# :class: dropdown
# Fewer bits round more, so int8 is expected to move more labels than float16. But both rows start from
# the reference's partners, whose own exemplar count is the "none" row's: quantization changes the
# partners' labels on a few images, which can move their modal label towards the reference's as well as
# away from it. Here float16 gives {glue:text}`sol_cie_fp16` exemplars and
# int8 {glue:text}`sol_cie_int8`, against {glue:text}`n_cie_none` for the "none" row; a float16 model
# gives its dense model's label on {glue:text}`sol_agree_fp16` of the test images, an int8 model on
# {glue:text}`sol_agree_int8`.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-methods-hardest
# Which method's exemplars are hardest for the held-out dense models ({numref}`tab-methods-hardness`),
# and how far is that from the "none" row, the images two dense groups disagree on?
# :::

# %% tags=["solution", "remove-input"]
scored = compressed.dropna(subset=["held_out_top1_cie"])
hardest = scored.loc[scored["held_out_top1_cie"].idxmin()] if len(scored) else compressed.iloc[0]
chapter.glue("sol_hardest", prose.row_label(hardest["method"], hardest["level_name"]))
chapter.glue("sol_hardest_top1", 100 * hardest["held_out_top1_cie"])
chapter.glue("sol_none_top1", 100 * dense_row["held_out_top1_cie"])
chapter.glue("sol_hardest_gap", 100 * (hardest["held_out_top1_cie"] - dense_row["held_out_top1_cie"]))

# %% [markdown] tags=["solution"]
# :::{solution} ex-methods-hardest
# :class: dropdown
# The lowest held-out top-1 among the compressed rows is that of {glue:text}`sol_hardest`:
# {glue:text}`sol_hardest_top1:.1f`%, against {glue:text}`sol_none_top1:.1f`% on the "none" row's set, a
# difference of {glue:text}`sol_hardest_gap:+.1f` points. A set that is easy for the held-out models is
# not necessarily uninteresting: a large exemplar set at high sparsity mixes hard images with images the
# compressed models got wrong for reasons of their own.
# :::

# %% [markdown]
# ## Other methods, one command away
#
# The comparison above is what `make book` builds. Any method, at any K the population allows, is one
# command: it trains what is missing (dense models are copied from the paper's population, not
# trained again) and writes the tables this chapter reads.
#
# ```bash
# pruning-impact compare --profile fashion-mnist --methods magnitude-global random quantize-int8 --comparison-k 20
# papermill notebooks/07_methods.ipynb out.ipynb -p methods "magnitude-global random quantize-int8" -p comparison_size 20
# ```
#
# A single population of another method runs through the command-line analysis and robustness
# evaluation too: `pruning-impact train --method random`, then `pruning-impact analyze --method random`
# or `pruning-impact robustness --method random` (a quantized population's levels are the dense models
# and the bit width; an attack on a quantized model follows its float model's gradients).
