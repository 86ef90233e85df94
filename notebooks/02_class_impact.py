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
# # Class-level impact
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

from pruning_impact import plots, stats, verdicts
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
tables, options = chapter.tables, chapter.analysis_options
summary, tests, calibration = tables["class_summary"], tables["class_tests"], tables["aa_calibration"]
chance = stats.calibration_summary(calibration).set_index("correction")
raw = summary[summary["correction"] == "none"].set_index("sparsity")
corrected = summary[summary["correction"] == options.correction_label].set_index("sparsity")
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
class_levels = verdicts.class_level_table(summary, calibration)
found = [
    verdicts.class_finding(summary, tests, calibration, options.alpha),
    verdicts.class_trend(tests, class_levels, options.alpha),
    verdicts.rise_vs_fall(summary, calibration, options.alpha),
]
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
# Each level's count of significant classes is compared with the A/A counts at the same sizes (a
# p-value per level, Holm-corrected over the levels; {numref}`tab-class-levels`, rules in
# {doc}`00_method`):
#
# - “Some classes are hit more than others”: **{glue:text}`verdict_1`** ({glue:text}`evidence_1`).
# - “The impact grows with sparsity”: **{glue:text}`verdict_1t`** ({glue:text}`evidence_1t`).
# - “More classes gain than lose, relative to the model”: **{glue:text}`verdict_1r`**
#   ({glue:text}`evidence_1r`).

# %% tags=["hide-input"]
chapter.show_table(
    class_levels.rename(
        columns={
            "sparsity": "t",
            "n_significant": "# signif. (uncorrected)",
            "aa_mean": "A/A mean",
            "aa_high": "A/A 95th pct.",
            "p_value": "p (vs A/A)",
            "p_holm": "p (Holm over levels)",
        }
    ),
    "tab-class-levels",
    "Per level: classes significant in the paper's uncorrected test against the dense-vs-dense (A/A) "
    "counts at the same sizes; the p-value is the share of A/A splits with at least as many.",
    digits=3,
)

# %% [markdown]
# ## Which classes move
#
# {numref}`fig-class-impact-high` and {numref}`fig-class-impact-mid` draw, for every class, the
# normalized recall difference (Eq. 1, bars) and the absolute recall difference (points), as the
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
#
# 1. Re-execute with `-p correction bonferroni`. Which rows of {numref}`tab-class-summary` change, and
#    can any count go up?
# 2. Re-execute with `-p population_size 4`. Predict whether the A/A counts rise or fall, then check.
# 3. Which class has the largest decrease at the highest sparsity? Look at a few of its test images in
#    the PIE chapter ({doc}`03_pie`) and form a hypothesis why.
