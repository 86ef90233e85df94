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
# # Class-level impact
#
# :::{admonition} What you will learn
# :class: tip
# - how to test, class by class, whether pruning changes some classes' accuracy more than the model's;
# - how to read a count of significant classes against the count two dense groups give by chance;
# - which classes gain and which lose at each sparsity.
# :::
#
# **The question.** Pruning changes top-1 accuracy. Does every class pay the same share of that
# change, or do some classes lose (or gain) more than the model as a whole?
#
# For each class $c$ and model $k$ the test uses the mean-shifted class accuracy
# $\beta^c_{t,k} - \beta^M_{t,k}$ and compares the sparse models' values with the dense ones' by
# Welch's two-sided t-test {cite:p}`welch1947generalization` (see {doc}`00_method`). With $C$ classes
# tested at once, some come out significant by chance alone: the paper did not
# correct for that, so this chapter shows each table without and with a Benjamini-Hochberg
# correction {cite:p}`benjamini1995controlling`, beside an *A/A test*: the same procedure between two
# disjoint groups of dense models, where there is no effect to find.

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

from pruning_impact import verdicts
from pruning_impact.analysis import stats
from pruning_impact.book import open_chapter, plots

plots.set_style()
chapter = open_chapter(vars())
tables, options = chapter.tables, chapter.analysis_options
summary, tests, calibration = tables["class_summary"], tables["class_tests"], tables["aa_calibration"]
chance = stats.calibration_summary(calibration).set_index("correction")
raw, corrected = stats.by_correction(summary, options.correction_label)
top_t = raw.index.max()
aa = stats.chance_level(calibration, "none")
chapter.glue_all(
    {
        "num_classes": len(chapter.class_names),
        "alpha": options.alpha,
        "correction": options.correction_label,
        "top_t": 100 * top_t,
        "raw_signif_top": int(raw.loc[top_t, "n_significant"]),
        "corr_signif_top": int(corrected.loc[top_t, "n_significant"]),
        "aa_raw_mean": aa["mean"],
        "aa_raw_max": aa["max"],
        "aa_group": aa["half_size"],
        "aa_repeats": aa["repeats"],
    }
)
class_levels = verdicts.class_levels(tables)
class_levels["impact"] = class_levels["sparsity"].map(verdicts.impact_beyond_noise(tests).mean(axis=0))
found = verdicts.analysis_verdicts(tables, options.alpha)[:3]
for v in found:
    chapter.glue(f"verdict_{v.label}", v.verdict)
    chapter.glue(f"evidence_{v.label}", v.statistic)

# %% [markdown]
# ## Tables 1 and 4, with their calibration
#
# At {glue:text}`top_t:.0f`% sparsity {glue:text}`raw_signif_top` of the {glue:text}`num_classes`
# classes pass the uncorrected test at $\alpha$ = {glue:text}`alpha`, and
# {glue:text}`corr_signif_top` pass after the {glue:text}`correction` correction. Between two
# disjoint groups of {glue:text}`aa_group` dense models, over {glue:text}`aa_repeats` random splits,
# the uncorrected test finds {glue:text}`aa_raw_mean:.2f` significant classes on average (at most
# {glue:text}`aa_raw_max:.0f`): that is the count to beat ({numref}`tab-class-summary`,
# {numref}`tab-aa`).

# %% tags=["hide-input"]
view = summary.copy()
view["A/A mean"] = view["correction"].map(chance["mean"])
view["A/A max"] = view["correction"].map(chance["max"])
view = view.rename(
    columns={
        "sparsity": "t",
        "model_accuracy_difference": "model acc. diff.",
        "n_significant": "# signif.",
        "n_increase": "# incr.",
        "n_decrease": "# decr.",
        "largest_increase_class": "largest incr.",
        "largest_increase": "norm. diff. (incr.)",
        "largest_decrease_class": "largest decr.",
        "largest_decrease": "norm. diff. (decr.)",
    }
)
view = view.drop(columns=["k_dense", "k_sparse"])
chapter.show_table(
    view,
    "tab-class-summary",
    "Class-level results per sparsity t, without correction (as in the paper) and with correction: "
    "mean model accuracy difference, classes significantly increased and decreased relative to "
    "the model, the classes with the largest normalized recall difference, and the A/A chance "
    "count beside each row (cf. the paper's Tables 1 and 4).",
)

# %% tags=["hide-input"]
if len(chance):
    chapter.show_table(
        chance.reset_index().rename(columns={"count": "splits"}),
        "tab-aa",
        "A/A calibration: classes called significant between two disjoint random groups of dense "
        "models of the sparse populations' size, per correction, over the random splits.",
        digits=2,
    )

# %% [markdown]
# ## Verdicts
#
# Each level's count of significant classes is compared with its permutation distribution: the
# reference and the level's models pooled and split again at random into groups of their sizes, the
# same null as the PIE counts' (a p-value per level, Holm-corrected over the levels;
# {numref}`tab-class-levels`, rules in {doc}`00_method`). The growth with sparsity is judged on each
# class's squared difference less the squared standard error of its estimate ($d^2 - se^2$), so that
# noisier sparse models do not read as a larger impact, against the same statistic with each class's
# levels shuffled; the direction (more rises than falls) by a sign test on the significant classes of
# the levels where the first claim holds:
#
# - “Some classes are hit more than others”: **{glue:text}`verdict_1`** ({glue:text}`evidence_1`).
# - “The impact grows with sparsity”: **{glue:text}`verdict_1t`** ({glue:text}`evidence_1t`).
# - “Of the classes pruning affects, more gain than lose, relative to the model”:
#   **{glue:text}`verdict_1r`** ({glue:text}`evidence_1r`).

# %% tags=["hide-input"]
chapter.show_table(
    class_levels.drop(columns=["k_dense", "k_sparse", "aa_high"]).rename(
        columns={
            "sparsity": "t",
            "n_significant": "# signif. (uncorrected)",
            "n_increase": "# rise",
            "n_decrease": "# fall",
            "aa_mean": "A/A mean",
            "aa_high": "A/A 95th pct.",
            "permuted_mean": "permuted mean",
            "p_value": "p (vs permutations)",
            "p_holm": "p (Holm over levels)",
            "impact": "mean d^2 - se^2",
        }
    ),
    "tab-class-levels",
    "Per level: classes significant in the paper's uncorrected test against the counts of random re-splits "
    "of the reference and the level's models (the p-value is the share of re-splits with at least as "
    "many), the dense-vs-dense (A/A) counts beside them, and the mean over classes of d^2 - se^2, the size "
    "of the class effects beyond the noise of their estimates.",
    digits=3,
)

# %% [markdown]
# ## Which classes move
#
# {numref}`fig-class-impact-high` and {numref}`fig-class-impact-mid` draw, for every class, the
# normalized recall difference ({eq}`eq-normalized-difference`, bars) and the absolute recall difference (points), as the
# paper's Figures 3 and 8 do. Solid bars pass the uncorrected test.

# %% tags=["hide-input"]
levels = sorted(tests["sparsity"].unique())
high, mid = levels[-1], levels[-2] if len(levels) > 1 else levels[-1]
for level, name in ((high, "fig-class-impact-high"), (mid, "fig-class-impact-mid")):
    rows = tests[(tests["sparsity"] == level) & (tests["correction"] == "none")]
    fig = plots.class_impact_figure(rows, title=f"t = {100 * level:.0f}%")
    chapter.show_figure(
        fig,
        name,
        f"Normalized recall difference (bars) and absolute recall difference (points) per "
        f"class at {100 * level:.0f}% sparsity; faded bars do not pass the uncorrected test "
        "(cf. the paper's Figures 3 and 8).",
    )

# %% [markdown]
# ## Take-aways
#
# - A class can lose more than the model's average even when the model's top-1 changes little; the
#   normalized recall difference measures exactly that relative shift.
# - A count of significant classes needs its chance level beside it: with many classes and no
#   correction, chance alone passes some of them.
#
# ## Exercises

# %% [markdown]
# :::{exercise}
# :label: ex-class-bonferroni
# Re-execute with `-p correction bonferroni`. Which rows of {numref}`tab-class-summary` change, and
# can any count of significant classes go up?
# :::

# %% tags=["solution", "remove-input"]
bonferroni = chapter.with_parameters(correction="bonferroni").tables["class_summary"]
counts = bonferroni[bonferroni["correction"] == "bonferroni"].set_index("sparsity")["n_significant"]
uncorrected_counts = raw["n_significant"].loc[counts.index]
bonferroni_raw = bonferroni[bonferroni["correction"] == "none"].set_index("sparsity")
chapter.glue("sol_bonf_raw_same", "the same" if bonferroni_raw.equals(raw) else "not the same")
chapter.glue("sol_bonf_fewer", int((counts < uncorrected_counts).sum()))
chapter.glue("sol_bonf_levels", len(counts))
chapter.glue("sol_bonf_top", int(counts.loc[top_t]))
chapter.glue("sol_bonf_rise", int((counts > uncorrected_counts).sum()))
default_counts = corrected["n_significant"].loc[counts.index]
chapter.glue("sol_bonf_below_default", int((counts < default_counts).sum()))
chapter.glue("sol_bonf_above_default", int((counts > default_counts).sum()))

# %% [markdown] tags=["solution"]
# :::{solution} ex-class-bonferroni
# :class: dropdown
# The uncorrected rows (the paper's test) are {glue:text}`sol_bonf_raw_same` as with the default
# correction; the corrected rows change. A correction only raises p-values, so a corrected count cannot
# exceed the uncorrected one (it does at {glue:text}`sol_bonf_rise` of {glue:text}`sol_bonf_levels`
# levels; it is lower at {glue:text}`sol_bonf_fewer`). Bonferroni is stricter than
# {glue:text}`correction`: its count is lower at {glue:text}`sol_bonf_below_default` of
# {glue:text}`sol_bonf_levels` levels and higher at {glue:text}`sol_bonf_above_default`. At {glue:text}`top_t:.0f`% sparsity it is
# {glue:text}`sol_bonf_top` classes, against {glue:text}`corr_signif_top` with
# {glue:text}`correction` and {glue:text}`raw_signif_top` uncorrected.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-class-small-k
# Re-execute with a smaller population, `-p population_size 4`. Predict whether the A/A chance count
# (two groups of dense models, no pruning) rises or falls, and whether the count at the highest
# sparsity does, then check.
# :::

# %% tags=["solution", "remove-input"]
small_chapter = chapter.with_parameters(population_size=chapter.smaller_k)
small_summary = small_chapter.tables["class_summary"]
small_raw = small_summary[small_summary["correction"] == "none"].set_index("sparsity")
chapter.glue("sol_small_k", chapter.smaller_k)
chapter.glue("sol_small_aa", stats.chance_level(small_chapter.tables["aa_calibration"], "none")["mean"])
chapter.glue("sol_small_top", int(small_raw.loc[top_t, "n_significant"]))
change = int(small_raw.loc[top_t, "n_significant"]) - int(raw.loc[top_t, "n_significant"])
chapter.glue("sol_small_direction", "fewer" if change < 0 else "more" if change > 0 else "as many")

# %% [markdown] tags=["solution"]
# :::{solution} ex-class-small-k
# :class: dropdown
# With no effect, a calibrated test is significant for about a fraction $\alpha$ of the classes
# whatever the sample size, so the A/A count should stay near $\alpha C$: it is
# {glue:text}`aa_raw_mean:.2f` with groups of {glue:text}`aa_group` models and
# {glue:text}`sol_small_aa:.2f` with {glue:text}`sol_small_k`. A real effect, in contrast, is expected
# to be found less often with fewer models (less power): at {glue:text}`top_t:.0f`% sparsity,
# {glue:text}`sol_small_top` classes are significant with {glue:text}`sol_small_k` models
# ({glue:text}`sol_small_direction`), against {glue:text}`raw_signif_top` with all of them.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-class-largest
# Which class loses the most, relative to the model's overall change, at the highest sparsity? Look at
# a few of its test images in {doc}`03_pie` and form a hypothesis why.
# :::

# %% tags=["solution", "remove-input"]
at_top = tests[(tests["sparsity"] == top_t) & (tests["correction"] == "none")]
lowest = at_top.loc[at_top["normalized_recall_difference"].idxmin()]
chapter.glue("sol_largest_class", str(lowest["class_name"]))
chapter.glue("sol_largest_value", 100 * float(lowest["normalized_recall_difference"]))
chapter.glue("sol_largest_significant", "significant" if lowest["significant"] else "not significant")

# %% [markdown] tags=["solution"]
# :::{solution} ex-class-largest
# :class: dropdown
# At {glue:text}`top_t:.0f`% sparsity the largest relative decrease is for
# **{glue:text}`sol_largest_class`** ({glue:text}`sol_largest_value:+.2f` points of normalised
# recall; {glue:text}`sol_largest_significant` in the uncorrected test). One hypothesis to test in the galleries: a class that shares most features with others
# (shirts with T-shirts and pullovers, say) is told apart by fine details, and those may be the first
# to go when capacity is removed.
# :::
