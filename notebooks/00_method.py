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
# # Method
#
# :::{admonition} What you will learn
# :class: tip
# - why the book compares populations of models rather than single models;
# - the class-level test (Welch's t-test on mean-shifted class accuracy) and its A/A baseline;
# - how Pruning Identified Exemplars are defined, and the dense-vs-dense noise floor they are read against;
# - how often each verdict rule errs, measured on simulated populations with and without a planted effect.
# :::
#
# **The question.** How do we measure what pruning changes, beyond one accuracy number, without
# mistaking the ordinary differences between training runs for an effect of pruning, and how often
# would the book's verdicts be wrong?
#
# This chapter states the method and the rules behind every verdict, and ends with how often those
# rules err on simulated populations where the truth is known.

# %% tags=["parameters", "hide-input"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
calibration_simulations = None  # type: int|None  simulated populations per scenario behind the rules' error rates (None: 16)

# %% tags=["hide-input"]
import pandas as pd

from pruning_impact import verdicts
from pruning_impact.book import glue, open_chapter, show_table
from pruning_impact.foundations.profiles import get_profile, paper_setups
from pruning_impact.verdicts import calibration, margins, paper

chapter = open_chapter(vars())  # converts and checks the parameters; a wrong one stops here with a message
settings = chapter.settings
robustness = chapter.robustness()
paper_settings = get_profile("imagenet-resnet50")
simulations = chapter.parameter("calibration_simulations") or calibration.BOOK_SIMULATIONS
fit = calibration.fit_for_population(results_dir, settings, chapter.analysis_options)
rates = calibration.read_calibration(results_dir, fit, simulations, calibration.VALIDATION_SEED, settings.profile)
result = calibration.summary(rates)


def window(s) -> tuple[float, float]:
    """The pruning window of a profile, as percentages of its training steps."""
    return 100 * s.pruning.begin_step / s.training.steps, 100 * s.pruning.end_step / s.training.steps


glue("profile_name", settings.profile)
glue("window_begin", window(settings)[0])
glue("window_end", window(settings)[1])
glue("paper_window_begin", window(paper_settings)[0])
glue("paper_window_end", window(paper_settings)[1])
glue("train_steps", settings.training.steps)
glue("simulations", simulations)
glue("validation_seed", calibration.VALIDATION_SEED)
glue("tuning_seed", calibration.TUNING_SEED)
glue("sign_test_min", verdicts.class_rules.SIGN_TEST_MIN)
for name in ("k", "k_dense", "classes", "n"):
    glue(f"sim_{name}", getattr(fit, name))
glue("sim_levels", ", ".join(f"{100 * t:.0f}%" for t in fit.levels))
glue("null_max", result["null_max"])
glue("rate_step", 1 / simulations)
glue("one_false_pct", 100 * (1 - (1 - chapter.analysis_options.alpha) ** simulations))
glue("planted_min", result["planted_min"])
glue("not_counted", "; ".join(f"claim {c}: {why}" for c, why in result["not_counted"].items()) or "none")
glue(
    "holds_without_pruning",
    "; ".join(f"claim {c}: {why}" for c, why in calibration.HOLDS_WITHOUT_PRUNING.items()),
)

# %% [markdown]
# ## Populations, not single models
#
# Two training runs of the same network differ: another random initialisation, another batch
# order. A comparison of one dense and one pruned model mixes that variation with the effect of
# pruning. The paper therefore trains a *population* of $K$ models at each sparsity
# $t \in \{0, 0.1, 0.3, 0.5, 0.7, 0.9\}$ and compares populations {cite:p}`hooker2019selective`.
# Here each model's seed derives from the population's base seed, its sparsity and its index, so any
# model can be retrained bit-for-bit on a CPU.
#
# The dense population has $3K$ models, used by position, each group for one purpose only:
#
# - the first $K$ are the **reference** of every comparison (the dense side of the class tests and
#   the dense modal label that defines PIEs);
# - random splits of the first $2K$ into two groups of $K$ give every **noise floor**: the same
#   statistic between two dense populations of the sparse populations' size;
# - the last $K$ define nothing: they **score** the PIE sets and the noise-floor sets, so that no set
#   is ever scored by a model that helped choose it.

# %% [markdown]
# ## Gradual magnitude pruning
#
# Pruning runs during training, on the schedule of {cite:t}`zhu2017prune`. Between steps $b$ and
# $e$ the target sparsity rises from $s_i$ to the final $s_f = t$ as
#
# $$
# s(\text{step}) = s_f + (s_i - s_f)\left(1 - p\right)^3, \qquad
# p = \min\!\left(1, \max\!\left(0, \frac{\text{step} - b}{e - b}\right)\right),
# $$
#
# and every $f$ steps in that window each pruned layer keeps the $\operatorname{round}(n(1-s))$ of
# its $n$ weights that are largest in magnitude. The forward pass uses the masked weights; the
# weights underneath keep their values, so a weight dropped early can return at a later update.
# After step $e$ the mask is fixed and the saved model holds exact zeros. All convolution and hidden
# linear layers are pruned; batch norm, biases and the final classifier are not, as in the authors'
# code.
#
# The {glue:text}`profile_name` profile prunes from {glue:text}`window_begin:.0f`% to
# {glue:text}`window_end:.0f`% of its {glue:text}`train_steps` training steps, later and longer than
# the paper's ImageNet window ({glue:text}`paper_window_begin:.0f`% to
# {glue:text}`paper_window_end:.0f`% of training). Its training is a few epochs long, so a window as
# early and as short as the paper's would start cutting before the network has learned anything and
# leave only a handful of mask updates; the later, longer window lets the weights' magnitudes mean
# something when pruning starts and leaves the network time to recover after the last update.

# %% [markdown]
# ## The paper's setups
#
# The `cifar10-wrn` and `imagenet-resnet50` profiles train what the authors trained, for machines
# with a GPU and the data ({doc}`rerun`). Where the paper's text and the authors' released ImageNet
# code disagree (the batch size, whose stated value does not fit the stated number of epochs), the
# profile follows the code; the pruning window follows the paper's Section 6.1, which reports the
# values its grid search chose. {numref}`tab-paper-setups` lists every choice with its source; the
# profiles' docstrings in `src/pruning_impact/foundations/profiles.py` say the same in more words.

# %% tags=["hide-input"]
show_table(
    pd.DataFrame(paper_setups()),
    "tab-paper-setups",
    "Settings of the paper-scale profiles and where each comes from (code paths under the authors' "
    "`pruning_identified_exemplars/` folder; milestones are fractions of training).",
)

# %% [markdown]
# ## Class-level impact
#
# For model $k$ at sparsity $t$, let $\beta^c_{t,k}$ be its accuracy on the test images of class
# $c$ and $\beta^M_{t,k}$ its accuracy on the whole test set. If pruning cost every class the same,
# the *mean-shifted* class accuracy $\beta^c_{t,k} - \beta^M_{t,k}$ would not change with $t$. For
# each class the book compares the samples $S^c_t = \{\beta^c_{t,k} - \beta^M_{t,k}\}_k$ and $S^c_0$
# with Welch's two-sided t-test {cite:p}`welch1947generalization` and reports the *normalized recall
# difference*
#
# $$
# \frac{1}{K_t}\sum_{k=1}^{K_t}\left(\beta^c_{t,k} - \beta^M_{t,k}\right)
# - \frac{1}{K_0}\sum_{k=1}^{K_0}\left(\beta^c_{0,k} - \beta^M_{0,k}\right).
# $$ (eq-normalized-difference)
#
# The paper's text subtracts each model's own accuracy $\beta^M_{t,k}$; the authors' released code
# subtracts the mean accuracy of the model's population. The option `shift` offers both (`model`,
# the default, and `population`); {doc}`05_paper_vs_book` shows both counts.
#
# Testing $C$ classes at once makes about $\alpha C$ of them significant by chance, so beside the
# paper's uncorrected test the book applies the Benjamini-Hochberg correction
# {cite:p}`benjamini1995controlling` and runs an **A/A test**: the same test between two disjoint
# groups of dense models, repeated over random splits, which shows the count that chance alone
# produces.

# %% [markdown]
# ## Pruning Identified Exemplars
#
# For each test image $i$, the *modal label* $y^M_{i,t}$ is the label the $t$-sparse models predict
# most often (ties go to the largest class index, as in the authors' code). Image $i$ is in
# PIE$_t$ when $y^M_{i,t} \neq y^M_{i,0}$, the dense modal label being that of the reference. The
# true label is not used, so PIEs could be found at test time.
#
# A modal label over a handful of models is noisy: two groups of dense models already disagree on
# some images, and a population splits its vote exactly where its models are unsure, so they get
# many of those images wrong. Scoring PIE$_t$ with the models that chose it (as the paper does, and
# as the book still shows, labelled *defining*) therefore finds low accuracy on PIEs even when
# pruning does nothing. The book's test scores PIE$_t$ with the **held-out** dense models and compares it with
# sets chosen the same way where pruning plays no part.

# %% [markdown]
# ## Verdict rules
#
# Every claim of the paper gets a verdict computed by a rule fixed in code
# (`src/pruning_impact/verdicts/`):
#
# - “reproduced” when a calibrated test rejects “no effect” at $\alpha$ after Holm's correction
#   over the levels (or corruption families) the claim looks at;
# - “not reproduced” only with evidence of absence: a significant effect in the other direction,
#   or an equivalence test (two one-sided tests) showing the effect smaller than a stated margin;
# - “mixed” when the test rejects in both directions in different places; “inconclusive” otherwise.
#
# - “not testable here” when the test cannot reach $\alpha$ at these sizes whatever the data (too few
#   levels for a trend, too few significant classes for a direction), or when what the claim
#   presupposes does not hold (claim `2s` at no level with more PIEs than chance).
#
# The null distribution of each test comes from the population itself:
#
# - *class counts* (claim `1`): the number of classes significant at level $t$ against re-splits of the
#   reference and the $t$-sparse models pooled (exact with no pruning effect, the same null as the PIE
#   counts'; the A/A counts of two dense groups are shown beside it), one p-value per level, Holm over
#   levels.
# - *growth of the class-level impact* (claim `1t`): per class and level, the squared normalized
#   difference less the squared standard error of its estimate ($d^2 - se^2$, an unbiased estimate of
#   the squared class effect), so that sparse models that are merely noisier do not read as a growing
#   impact; its correlation with sparsity summed over classes, against the same sum with each class's
#   levels shuffled on their own (exact with no effect: a class's estimates are exchangeable over levels),
#   with a significant effect at the most sparse level.
# - *direction* (claim `1r`): among the significant classes of the levels where claim `1` holds, more
#   rise than fall: a one-sided sign test (binomial, conditional on the significant classes), Holm over
#   those levels; below {glue:text}`sign_test_min` significant classes its smallest attainable p-value
#   exceeds $\alpha$, so it is not testable.
# - *PIE counts* (claim `2a`): the reference and the $t$-sparse models are pooled and split again at
#   random into groups of their sizes, and each split's disagreement set is counted. With no pruning
#   effect the two populations are exchangeable, so this permutation test is exact. (Splitting only
#   the dense models, the floor shown in the figures, gives too many false positives for a test,
#   because every split is drawn from the same fixed models.)
# - *PIE hardness* (claim `2`, the paper's Figure 4): PIE$_t$ against random and non-PIE images, scored by
#   models that did not choose it (the held-out dense models and the sparse models of the other levels).
#   An image counts as “hard” for a group when most of its models get it wrong; with no effect PIE$_t$ is a random
#   subset of the test set for those models, so its count of such images is hypergeometric (Fisher's exact
#   test against the non-PIE images is the same test). Both groups must find more such images in PIE$_t$
#   than chance allows at a level, Holm over levels.
# - *hardness specific to pruning* (claim `2s`, beyond the paper): do PIEs score lower than images two
#   populations disagree on by chance, when the vote is as close? PIE$_t$'s held-out top-1 less what
#   chance disagreement sets score at the same vote margins of the defining dense models, against the
#   same quantity for dense-vs-dense splits, sparse-vs-sparse halves and the permuted re-splits; judged
#   only at levels where PIEs exceed chance.
# - *trends* (claims `1t` and `2t`): the correlation of the per-level statistic with sparsity against
#   every ordering of the levels, exact because with no effect the levels are exchangeable, and a
#   significant effect at the most sparse level (growth presupposes an effect).
# - “PIEs found at the lowest sparsity are harder than at the highest” (claim `2l`): the difference of
#   held-out accuracy on the two PIE sets against re-splits of the two sparse populations pooled; whether
#   the lowest level's PIEs exceed chance at all is reported beside the verdict, not folded into it.
# - *robustness* (claims `3a`, `3b`, `3n`): Welch's t-test of per-model relative accuracy between the
#   dense reference and the most sparse models, for the mean over corruptions (or attacks) and each
#   family, Holm over them, and each corruption, Holm over the corruptions; a significant effect the other
#   way anywhere makes the verdict mixed. `3b` is the white-box attacks this book runs everywhere; the
#   paper's claim is about a natural adversarial set (`3n`), judged only where one exists. “Noise costs
#   the most” (claim `3c`): each model's noise-family accuracy less each other family's, dense against
#   sparse, one-sided Welch; “reproduced” when pruning lowers it against every other family.
#
# Each equivalence margin is derived from this population by the rule in {numref}`tab-margins`, and
# {numref}`tab-margin-sensitivity` gives every verdict with all margins halved and doubled.

# %% tags=["hide-input"]
show_table(
    margins.margin_table(chapter.tables, robustness, chapter.dense_split),
    "tab-margins",
    "The equivalence margins: the claims each serves, the rule that derives it from this population and its "
    "value (as a fraction and in points of accuracy; the robustness margin shown is the mean over "
    "corruptions', each hypothesis has its own). " + chapter.describe(),
    digits=4,
)
show_table(
    margins.margin_sensitivity(
        chapter.tables,
        robustness,
        chapter.dense_split,
        chapter.analysis_options.alpha,
        chapter.tables["model_accuracies"],
    ),
    "tab-margin-sensitivity",
    "Every verdict with every equivalence margin multiplied by one half, one and two. " + chapter.describe(),
)

# %% [markdown]
# ## How often the rules are wrong
#
# The rules were run on simulated populations of this book's sizes ($K$ = {glue:text}`sim_k` per sparse
# level at {glue:text}`sim_levels`, {glue:text}`sim_k_dense` dense, {glue:text}`sim_classes` classes,
# {glue:text}`sim_n` test images), whose parameters are fitted to the population of this book
# (`src/pruning_impact/verdicts/calibration.py`, {numref}`tab-calibration-fit`): how often the dense
# models get each image right, where their wrong answers go, how much their class accuracies vary, and
# the effects seen at each level. The scenarios ({numref}`tab-calibration-scenarios`) are: no effect;
# the effects seen here, at half, one and two times their size (the power grid); the shape of the
# paper's Figure 4; the paper's direction; a population where more classes gain than lose; and nulls of
# the wrong kind, under which a claim must not be judged “reproduced” although something changes: class effects
# as many up as down (for `1r`), PIEs that are merely contested images (for `2s`), sparse models that
# are only noisier (for `1` and `1t`), and PIEs that are random images (for `2`). No effect is not a null
# for every claim: {glue:text}`holds_without_pruning`.
#
# The rules were tuned on populations of seed {glue:text}`tuning_seed` (`benchmarks/verdict_calibration.py`);
# the table below is a validation on fresh populations (seed {glue:text}`validation_seed`), {glue:text}`simulations` per
# scenario. The largest rate of “reproduced” under a null is {glue:text}`null_max:.3f` and the smallest
# under the planted effect each claim is tested with is {glue:text}`planted_min:.3f`
# ({numref}`tab-calibration`). With {glue:text}`simulations` simulations per scenario a rate moves in steps
# of {glue:text}`rate_step:.3f`, and a rule whose true rate is $\alpha$ gives a false verdict somewhere in
# {glue:text}`one_false_pct:.0f`% of such runs; the benchmark runs more. Not counted:
# {glue:text}`not_counted`.

# %% tags=["hide-input"]
shown = calibration.targets(rates).rename(columns={"kind": "must be", verdicts.REPRODUCED: "reproduced (share)"})
shown["must be"] = shown["must be"].map({"null": "rare (<= 0.05)", "planted": "frequent (>= 0.8)"})
show_table(
    shown,
    "tab-calibration",
    f"Share of {simulations} simulated populations per scenario on which each rule says reproduced: under "
    "each null it must be rare (false verdicts), under the scenario that plants the claim frequent (power). "
    + chapter.describe(),
    digits=3,
)
show_table(
    pd.DataFrame(
        [{"scenario": s.name, "what pruning does": s.description} for s in calibration.scenarios(fit).values()]
    ),
    "tab-calibration-scenarios",
    "The simulated scenarios.",
)
show_table(
    fit.shown(),
    "tab-calibration-fit",
    "The simulator's parameters, fitted to this book's population. " + chapter.describe(),
)

# %% [markdown]
# ## Where the paper disagrees with itself
#
# Where the paper gives different numbers for one value, or none, {numref}`tab-paper-inconsistencies`
# says where each appears and which value this book uses {cite:p}`hooker2019selective`.

# %% tags=["hide-input"]
show_table(
    paper.inconsistency_table(),
    "tab-paper-inconsistencies",
    "Where the paper states one thing two ways or not at all, and which value this book uses.",
)

# %% [markdown]
# ## Take-aways
#
# - Compare populations, and always beside a dense-vs-dense baseline of the same size.
# - A set chosen by some models must be scored by others.
# - Each statistic here is defined on plain arrays of predictions, so it can be applied to any
#   population of models, from this code or elsewhere (`pruning_impact.analysis.stats`, `pruning_impact.analysis.pie`).
#
# ## Exercises

# %% [markdown]
# :::{exercise}
# :label: ex-method-aa
# Two groups of $K$ dense models, $C$ classes, a test at level $\alpha$ for each class: how many
# classes do you expect to be significant when pruning changes nothing? Check against the A/A
# calibration of {doc}`02_class_impact`.
# :::

# %% [markdown] tags=["solution"]
# :::{solution} ex-method-aa
# :class: dropdown
# Each test is significant with probability $\alpha$ under no effect, so the expected count is
# $\alpha C$ whatever $K$ is: {glue:text}`02_class_impact.ipynb::alpha:g` $\times$
# {glue:text}`02_class_impact.ipynb::num_classes:d` classes here. The measured A/A mean, over random
# splits of the dense models, is {glue:text}`02_class_impact.ipynb::aa_raw_mean:.2f`. The counts of
# one split are not binomial, though: the classes are tested on the same models, so their tests are
# correlated, which is why the book compares with the measured A/A distribution rather than with
# $\alpha C$.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-method-modal
# Can the modal labels of two dense groups differ on an image that every model classifies correctly?
# :::

# %% [markdown] tags=["solution"]
# :::{solution} ex-method-modal
# :class: dropdown
# No. If every model gives the true label, both groups' most frequent label is the true label. A
# disagreement needs models that err on the image, which is why PIEs and the noise floor gather on
# images that some models get wrong.
# :::

# %% [markdown]
# :::{exercise}
# :label: ex-method-selection
# Why would scoring PIE$_t$ with the models that chose it make PIEs look hard even if pruning changed
# nothing? Try it with `pruning_impact.verdicts.calibration.simulate_population` and a scenario without effect.
# :::

# %% [markdown] tags=["solution"]
# :::{solution} ex-method-selection
# :class: dropdown
# PIE$_t$ is chosen where the reference models' modal label disagrees with the sparse models' one, so
# it gathers images on which those very models err by chance. Scored by the same models, the set looks
# hard because of how it was chosen (selection bias). Models that took no part in choosing it (the
# held-out dense models) give an unbiased score, and the noise-floor sets, chosen the same way between
# two dense groups, show how hard a set chosen by chance alone looks.
# :::
