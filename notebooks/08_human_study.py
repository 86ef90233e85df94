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
# # A blinded annotation study of PIEs
#
# :::{admonition} What you will learn
# :class: tip
# - how to run the paper's human study of PIEs yourself: a blinded sheet for annotators, their answers
#   joined with a key they never see;
# - how to compare the share of a property among PIEs and non-PIEs (Fisher's exact test, confidence
#   intervals) and how to measure agreement between annotators (Cohen's and Fleiss' kappa);
# - how many images such a study needs.
# :::
#
# **The question.** What do PIEs look like to a person? The paper's answer (its Section 3.2 and
# Figure 5) came from the authors themselves codifying a balanced sample of PIE and non-PIE images,
# with the PIE label hidden, by a handful of yes/no questions (its Appendix 6.5). This chapter turns that
# study into a workflow anyone can run on any population, and shows what its analysis looks like.
#
# :::{warning}
# The answers analysed below are **not human data**. They were made by a fixed rule from the images and
# from dense models that took no part in choosing the PIEs (stated in {numref}`tab-annotation-rule`), by
# two "machine annotators" who
# each flip the rule's answer at random, so that the tables and the figure have something to show.
# Nothing below says what people see in PIEs; a real study replaces the example files with annotators'
# answers and re-executes this chapter.
# :::

# %% tags=["parameters", "hide-input"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
population_size = None  # type: int|None  K models per sparse level, up to the trained K (None: the profile's)
dense_population_size = None  # type: int|None  dense models, up to the trained number (None: the profile's)
sparsities = None  # type: list|None  trained sparsities to show, a list or text such as "0 0.5 0.9" (None: the profile's)
seed = None  # type: int|None  base seed of the population (None: the profile's)
data_dir = None  # type: str|None  folder of the dataset, to show test images (None: the profile's)
annotation_sparsity = None  # type: float|None  the level whose PIEs the annotation sheet samples (None: the highest)
annotation_size = 200  # type: int  images on the annotation sheet, half PIEs (fewer when the level has too few)
annotation_seed = 0  # type: int  which images the annotation sheet draws, and their order

# %% tags=["hide-input"]
from pruning_impact.book import open_chapter, plots, prose
from pruning_impact.foundations.levels import format_percent
from pruning_impact.study import agreement, machine_answers, sheet, stored_study
from pruning_impact.verdicts import paper

plots.set_style()
chapter = open_chapter(vars())
study = stored_study.example_study(
    chapter.results_dir,
    chapter.settings,
    chapter.parameter("annotation_sparsity"),
    chapter.parameter("annotation_size"),
    chapter.parameter("annotation_seed"),
)
key, table, agree = study.sheet.key_table, study.properties, study.agreement
level = float(key["sparsity"].iloc[0])
sheet_link = chapter.attach(study.sheet.page)
power_factor, power_simulations = 10, 2000  # the exercise: a sample this many times larger; simulated studies
chapter.glue_all(
    {
        "n_questions": len(sheet.QUESTIONS),
        "paper_study_size": paper.HUMAN_STUDY_SIZE,
        "paper_study_half": paper.HUMAN_STUDY_SIZE // 2,
        "sheet_size": len(key),
        "sheet_half": len(key) // 2,
        "sheet_requested": study.requested,
        "sheet_level": format_percent(level),
        "sheet_id": study.sheet.sheet_id,
        "annotators": int(study.joined["annotator"].nunique()),
        "flip_pct": 100 * machine_answers.EXAMPLE_FLIP,
        "n_properties": len(table),
        "differ": prose.differ_sentence(table),
        "alpha_pct": 5,
        "ci_pct": 95,
        "power_factor": power_factor,
        "power_simulations": power_simulations,
    }
)

# %% [markdown]
# ## The workflow
#
# 1. **Export a sheet.** `pruning-impact annotate export --profile fashion-mnist --sparsity 0.9 --n 200
#    --seed 0 --out study/` draws half the images from PIE$_t$ and half from the other test images,
#    shuffles them, and writes two files: `sheet-<id>.html` for the annotators and `key-<id>.csv`, which
#    records which image is a PIE and stays with whoever runs the study. The page holds the images
#    themselves, the test set's label (`label 1`), the two classes that dense models outside the
#    reference confuse that class with most often over the test set (`label 2` and `label 3`, for the
#    question on fine-grained classes: the same pair for every image of a class, so that it says nothing
#    about the image) and the
#    {glue:text}`n_questions` questions; it holds no PIE label and no prediction of the pruned models.
# 2. **Annotate.** Each annotator opens the page in a browser, offline, types a name and answers yes or
#    no to every question of every image. The page keeps the answers in the browser as they go, so a
#    sheet can be finished over several sittings; a button downloads them as one CSV file.
# 3. **Import.** `pruning-impact annotate import answers-<id>-anna.csv answers-<id>-ben.csv --key
#    study/key-<id>.csv --out study/tables` checks every file against the key (the same sheet, every
#    item once, every answer `0` or `1`: anything else stops with one message saying what to fix), joins
#    them and prints the tables of this chapter.
#
# The book's own sheet has {glue:text}`sheet_size` images ({glue:text}`sheet_half` PIEs at
# {glue:text}`sheet_level` sparsity and as many non-PIEs; sheet {glue:text}`sheet_id`); a blank copy
# is linked below. Its key is in the population's `annotation` folder of the results. It is there to
# try the workflow: anyone can make its key again, and {doc}`09_exemplar_browser` shows every image's
# PIE flag. For a real study, export a sheet of your own with another `--seed`, write its key elsewhere
# (`--key-out`), and keep both the key and this book away from the annotators.

# %% tags=["hide-input"]
chapter.show_note(
    f"{{download}}`The book's blank annotation sheet <{sheet_link}>` (one HTML file; open it in a browser)."
)
if len(key) < study.requested:
    chapter.show_note(
        f"This population has too few PIEs at {format_percent(level)} for {study.requested} images: the "
        f"sheet has {len(key)}."
    )
chapter.show_table(
    sheet.questions_table(),
    "tab-annotation-questions",
    "The sheet's questions (the paper's Appendix 6.5, in our words) and the property each one codes.",
)

# %% [markdown]
# The paper's study codified {glue:text}`paper_study_size` ImageNet images, {glue:text}`paper_study_half`
# of each kind; its shares are the open markers of {numref}`fig-annotation`. Its properties fall in two
# groups: a *poorly specified task* (the label is wrong or not enough to go by; several objects
# could carry a label) and a *challenging exemplar* (fine-grained classes, an atypical example, a
# corrupted image, an abstract rendering).
#
# ## The example answers
#
# Each of the {glue:text}`annotators` machine annotators answers every question by the rule of
# {numref}`tab-annotation-rule`, then flips each answer with probability
# {glue:text}`flip_pct:.0f`% (seeded). The rule reads the images and dense models that took no part in
# choosing the PIEs; it never reads which images are PIEs.

# %% tags=["hide-input"]
chapter.show_table(
    machine_answers.rule_table(),
    "tab-annotation-rule",
    "The rule behind the example answers (not human judgement; see `pruning_impact.study.machine_answers.EXAMPLE_RULE`).",
)

# %% [markdown]
# ## Properties of PIEs and non-PIEs
#
# An image has a property when more than half of its annotators say so (with two annotators who
# disagree, it does not). For each property, {numref}`tab-annotation-properties` gives its share among
# PIEs and among non-PIEs with Wilson's {glue:text}`ci_pct`% interval, the odds ratio and Fisher's exact test of
# the $2 \times 2$ table (PIE or not, property or not), with Holm's adjustment over the
# {glue:text}`n_properties` properties. On the example answers, {glue:text}`differ`. That describes the
# rule, which reads the models' votes and simple image statistics, not what people see.

# %% tags=["hide-input"]
fig = plots.annotation_figure(table, paper.HUMAN_STUDY)
chapter.show_figure(
    fig,
    "fig-annotation",
    f"Share of PIEs (PIE$_t$ at {format_percent(level)}) and non-PIEs with each property in the example "
    f"answers (dots, 95% Wilson intervals; {len(key)} images, {study.joined['annotator'].nunique()} machine "
    "annotators, **not human data**) and in the paper's human study of ImageNet PIEs (open diamonds; "
    "Hooker et al., Figure 5).",
)


# %% tags=["hide-input"]
chapter.show_table(
    agreement.properties_view(table),
    "tab-annotation-properties",
    f"Each property among the {len(key) // 2} PIEs and {len(key) // 2} non-PIEs of the example answers "
    "(**not human data**): counts, shares with 95% Wilson intervals, odds ratio and two-sided Fisher's exact "
    "test, with Holm's adjustment over the properties.",
    digits=3,
)

# %% [markdown]
# ## Agreement between annotators
#
# Before the shares mean anything, the annotators must agree more than chance would make them.
# {numref}`tab-annotation-agreement` gives, per question, the share of images on which all annotators
# answered alike and two chance-corrected measures: Cohen's kappa (two annotators) and Fleiss' kappa
# (any number). Both compare the observed agreement $p_o$ with the agreement $p_e$ expected from each
# answer's overall rate, $\kappa = (p_o - p_e)/(1 - p_e)$: $\kappa = 1$ is perfect agreement, $\kappa = 0$ is what chance gives.
# A question almost everyone answers the same way (the rule's constant answers) can show high raw
# agreement with a kappa near zero: the few disagreements are all there is to measure.

# %% tags=["hide-input"]
chapter.show_table(
    agree[["question", "property", "annotators", "all_agree", "cohen_kappa", "fleiss_kappa"]].rename(
        columns={"all_agree": "all agree", "cohen_kappa": "Cohen's kappa", "fleiss_kappa": "Fleiss' kappa"}
    ),
    "tab-annotation-agreement",
    "Agreement of the machine annotators of the example answers (**not human data**), per question.",
    digits=3,
)

# %% [markdown]
# ## Exercises
#
# :::{exercise}
# :label: ex-annotation-power
# The paper's study had {glue:text}`paper_study_half` PIEs and as many non-PIEs. Suppose its ImageNet
# shares of corrupted images are the true ones. How often would Fisher's exact test at the
# {glue:text}`alpha_pct`% level
# find that difference with a sample of that size, and how often with {glue:text}`power_factor` times as
# many images?
# Use `agreement.fisher_power`.
# :::

# %% tags=["solution", "remove-input"]
corruption = paper.HUMAN_STUDY.set_index("property").loc["image corruption"]
half = paper.HUMAN_STUDY_SIZE // 2
chapter.glue("sol_share_pie", 100 * corruption["share_pie"])
chapter.glue("sol_share_non", 100 * corruption["share_non_pie"])
for name, size in (("sol_power", half), ("sol_power_more", power_factor * half)):
    power = agreement.fisher_power(
        corruption["share_pie"], corruption["share_non_pie"], size, simulations=power_simulations
    )
    chapter.glue(name, 100 * power)
chapter.glue("sol_half_more", power_factor * half)

# %% [markdown] tags=["solution"]
# :::{solution} ex-annotation-power
# :class: dropdown
# With shares of {glue:text}`sol_share_pie:.1f`% (PIEs) and {glue:text}`sol_share_non:.1f`% (non-PIEs),
# {glue:text}`paper_study_half` images per group give the test a power of {glue:text}`sol_power:.0f`%
# ({glue:text}`power_simulations` simulated studies); {glue:text}`sol_half_more` per group give
# {glue:text}`sol_power_more:.0f`%. A small difference between the groups needs many more images than a
# large one before a test can tell it from chance.
# :::
