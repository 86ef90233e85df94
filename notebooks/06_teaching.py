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
# # Teaching with this book
#
# :::{admonition} What you will learn
# :class: tip
# - how to teach the paper in a few lessons, with the machine time each step took in this build;
# - which population to train live in class (the `classroom` profile), and what students should see;
# - how to hand out the notebooks without their solutions.
# :::
#
# **The question.** How can a class reproduce the paper's two main effects in the time of a lesson, on
# the laptops students have?

# %% tags=["parameters", "hide-input"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
classroom_profile = "classroom"  # type: str  the population the lesson plan trains live

# %% tags=["hide-input"]
import pandas as pd

from pruning_impact import verdicts
from pruning_impact.analysis import pie, stats
from pruning_impact.book import open_chapter
from pruning_impact.book.build_record import build_timings
from pruning_impact.book.parameters import read_parameters
from pruning_impact.foundations import store
from pruning_impact.foundations.machine import SLOWER_KIND_FACTOR
from pruning_impact.foundations.profiles import resolve_settings

read_parameters(vars())  # converts and checks the parameters; a wrong one stops here with a message
classroom = open_chapter({"profile": classroom_profile, "results_dir": results_dir})
settings = classroom.settings
tables = classroom.tables
top_t = max(settings.population.sparsities)
summary = tables["class_summary"]
raw, corrected = stats.by_correction(summary, classroom.analysis_options.correction_label)
aa = stats.chance_level(tables["aa_calibration"], "none")
counts = tables["pie_counts"].set_index("sparsity")
floor = pie.noise_floor_summary(tables["pie_noise_floor"])
class_verdict = verdicts.class_finding(
    summary, tables["class_tests"], tables["aa_calibration"], class_permutations=tables["class_permutations"]
)
levels = verdicts.pie_levels(tables)
count_verdict = verdicts.pie_count_finding(levels, tables["pie_counts"])
hardness = verdicts.pie_hardness_levels(tables)
pie_verdict = verdicts.pie_finding(hardness, tables["pie_counts"])
hardness = hardness.set_index("sparsity")
classroom.glue_all(
    {
        "class_profile": settings.profile,
        "class_dataset": classroom.dataset,
        "class_k": classroom.k,
        "class_k_dense": classroom.k_dense,
        "class_models": settings.population.total_models,
        "class_steps": settings.training.steps,
        "class_top_t": 100 * top_t,
        "class_signif": int(raw.loc[top_t, "n_significant"]),
        "class_signif_corrected": int(corrected.loc[top_t, "n_significant"]),
        "class_correction": classroom.analysis_options.correction_label,
        "class_aa_mean": aa["mean"],
        "class_aa_max": aa["max"],
        "class_num_classes": len(classroom.class_names),
        "class_pies": int(counts.loc[top_t, "n_pie"]),
        "class_floor": floor["mean"],
        "class_floor_high": floor["high"],
        "class_floor_pct": 97.5,
        "class_pie_held_out": 100 * hardness.loc[top_t, "dense_on_pie"],
        "class_floor_held_out": 100 * tables["pie_noise_floor"]["held_out_top1"].mean(),
        "class_random_held_out": 100 * hardness.loc[top_t, "dense_on_random"],
        "class_p_harder": hardness.loc[top_t, "p_harder_holm"],
        "class_verdict_count": count_verdict.verdict,
        "class_verdict_classes": class_verdict.verdict,
        "class_verdict_pies": pie_verdict.verdict,
        "class_claim_pies": pie_verdict.label,
    }
)

# %% [markdown]
# ## The classroom population
#
# The **{glue:text}`class_profile`** profile trains the default small CNN on {glue:text}`class_dataset`
# for {glue:text}`class_steps` steps (one epoch), at two levels only: dense and
# {glue:text}`class_top_t:.0f`% sparse, with $K$ = {glue:text}`class_k` sparse models and
# {glue:text}`class_k_dense` dense ones ({glue:text}`class_models` models in all). It is meant to train
# while a lesson starts, with enough models for the paper's two main effects to show at the highest
# sparsity. On the population of this build:
#
# - **Classes.** {glue:text}`class_signif` of {glue:text}`class_num_classes` classes differ
#   significantly at {glue:text}`class_top_t:.0f`% sparsity ({glue:text}`class_signif_corrected` after
#   the {glue:text}`class_correction` correction), where two groups of dense models give
#   {glue:text}`class_aa_mean:.1f` significant classes on average and at most
#   {glue:text}`class_aa_max:.0f`. The book's
#   rule for the paper's first claim says: *{glue:text}`class_verdict_classes`*.
# - **PIEs.** The sparse models' modal label differs from the dense models' on
#   {glue:text}`class_pies` test images, where two dense groups of the same size disagree on
#   {glue:text}`class_floor:.0f` on average ({glue:text}`class_floor_high:.0f` at the
#   {glue:text}`class_floor_pct`th percentile); the rule for the count (claim 2a) says:
#   *{glue:text}`class_verdict_count`*. The held-out dense models, which took no part in choosing the
#   PIEs, score {glue:text}`class_pie_held_out:.1f`% on them, against
#   {glue:text}`class_random_held_out:.1f`% on random samples of test images as large (an exact
#   one-sided test of how many of them most held-out models get wrong: p =
#   {glue:text}`class_p_harder:.2g`), and {glue:text}`class_floor_held_out:.1f`% on the images two
#   dense groups disagree on. The rule for the paper's claim {glue:text}`class_claim_pies`
#   ({doc}`00_method`) says here: *{glue:text}`class_verdict_pies`*, and on the book's own population
#   *{glue:text}`05_paper_vs_book.ipynb::verdict_2:s`* ({doc}`05_paper_vs_book`); whether the
#   hardness is specific to pruning, beyond chance disagreements at the same vote margin, is a
#   stricter question the book asks there (claim 2s).

# %% tags=["hide-input"]
where, stage_table = build_timings(classroom.results_dir, classroom.settings, setup_note=False)
book_settings = resolve_settings(profile)
book_dir = store.population_dir(results_dir, book_settings)
lesson_dir = store.population_dir(results_dir, settings)
stage_seconds = stage_table.set_index("stage")["seconds"].astype(float)
train_seconds = stage_seconds.get("train", float("nan"))
analysis_seconds = stage_seconds.get("analysis", float("nan"))


classroom.glue("class_built_on", where)
classroom.glue("class_train_seconds", train_seconds)
classroom.glue("class_analysis_seconds", analysis_seconds)
classroom.glue("book_profile", book_settings.profile)
slower = [factor * train_seconds for factor in SLOWER_KIND_FACTOR]
classroom.glue("slower_low", slower[0])
classroom.glue("slower_high", slower[1])
classroom.glue("slower_factor_low", SLOWER_KIND_FACTOR[0])
classroom.glue("slower_factor_high", SLOWER_KIND_FACTOR[1])

lesson_minutes = 50  # the plan's choice: one teaching period per lesson
plan = pd.DataFrame(
    [
        {
            "lesson": "1. The question and the method",
            "live on the students' machines": f"pruning-impact train --profile {settings.profile}, then analyze",
            "machine time (s)": train_seconds + analysis_seconds,
            "reading and exercises": "00_method, 01_setup; {ref}`ex-method-aa`, {ref}`ex-method-modal`, "
            "{ref}`ex-setup-std`",
        },
        {
            "lesson": "2. Which classes and which images",
            "live on the students' machines": f"papermill 02_class_impact and 03_pie with -p profile {settings.profile}",
            "machine time (s)": store.notebook_seconds(lesson_dir, "02_class_impact")
            + store.notebook_seconds(lesson_dir, "03_pie"),
            "reading and exercises": "02_class_impact, 03_pie; {ref}`ex-class-small-k`, {ref}`ex-pie-small-k`, "
            "{ref}`ex-pie-correct`",
        },
        {
            "lesson": "3. Robustness, and judging a reproduction",
            "live on the students' machines": "papermill 04_robustness and 05_paper_vs_book on the book's population",
            "machine time (s)": store.notebook_seconds(book_dir, "04_robustness")
            + store.notebook_seconds(book_dir, "05_paper_vs_book"),
            "reading and exercises": "04_robustness, 05_paper_vs_book; {ref}`ex-rob-worst`, {ref}`ex-paper-small-k`",
        },
    ]
)
classroom.glue("n_lessons", len(plan))
classroom.glue("lesson_minutes", lesson_minutes)
classroom.show_table(
    plan,
    "tab-lesson-plan",
    "A lesson plan. Machine time, measured by the latest build: lesson 1, training and analysing the classroom "
    "population; lesson 2, executing the two chapters with papermill on the classroom population, as students do; "
    f"lesson 3, executing the two chapters on the book's own population (profile `{book_settings.profile}`, with "
    "its robustness evaluated).",
    digits=0,
)

# %% [markdown]
# ## A lesson plan
#
# {numref}`tab-lesson-plan` splits the book into {glue:text}`n_lessons` lessons of about
# {glue:text}`lesson_minutes` minutes each. The machine times were measured by the builds that made
# them; the latest build that trained the classroom population ran on {glue:text}`class_built_on`:
# training it took {glue:text}`class_train_seconds:.0f` s and analysing it
# {glue:text}`class_analysis_seconds:.1f` s. Students' laptops may take longer: on the machines with two cores
# with AVX2 only (no bfloat16) that this project is built for, training takes
# {glue:text}`slower_factor_low:.1f` to {glue:text}`slower_factor_high:.1f` times as long
# (`benchmarks/NOTES.md`), which would make it {glue:text}`slower_low:.0f` to
# {glue:text}`slower_high:.0f` s.
#
# **The first lesson.** Start the training first, so that it runs while you present the question:
#
# ```bash
# .venv/bin/pruning-impact train --profile classroom
# .venv/bin/pruning-impact analyze --profile classroom
# ```
#
# Then read {doc}`00_method` together, and let the students work on {ref}`ex-method-aa`,
# {ref}`ex-method-modal` and {ref}`ex-setup-std`.
#
# **The second lesson.** Each student re-executes the class-level and PIE chapters on their own classroom
# population and compares with the book:
#
# ```bash
# .venv/bin/papermill notebooks/02_class_impact.ipynb out-02.ipynb -p profile classroom
# .venv/bin/papermill notebooks/03_pie.ipynb out-03.ipynb -p profile classroom
# ```
#
# Exercises: {ref}`ex-class-small-k`, {ref}`ex-pie-small-k` and {ref}`ex-pie-correct`. The galleries
# of {doc}`03_pie` ({ref}`ex-pie-gallery`) make a good discussion in pairs.
#
# **The third lesson.** Robustness and the verdicts, on the book's population: training it and
# evaluating its robustness do not fit a lesson, so share the `results/` folder of your own `make book`
# with the class (copy it into each student's repository). Then {ref}`ex-rob-worst` and
# {ref}`ex-paper-small-k`, which shows how a verdict depends on the population size.
#
# ## Handing out the notebooks
#
# Every exercise's solution lives in cells tagged `solution` (the book shows them folded). To give
# students the notebooks without them:
#
# ```bash
# .venv/bin/pruning-impact student-notebooks --out handout
# ```
#
# writes one `.ipynb` per chapter into `handout/`, with the exercises and without the solutions. Run
# with papermill from the repository's folder, they find the results in `results/`; opened in Jupyter
# from `handout/`, set `results_dir = "../results"` and `data_dir = "../data"` in their parameters cell.
