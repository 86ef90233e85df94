# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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

# %% tags=["parameters"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
calibration_simulations = None  # type: int|None  simulated populations per scenario behind the rules' error rates (None: 50)

# %% tags=["hide-input"]
import pandas as pd

from pruning_impact import verdicts
from pruning_impact.book import glue, show_table
from pruning_impact.book.parameters import read_parameters
from pruning_impact.foundations.profiles import get_profile, paper_setups
from pruning_impact.verdicts import calibration

given = read_parameters(vars())  # converts and checks the parameters; a wrong one stops here with a message
settings = get_profile(profile)
paper_settings = get_profile("imagenet-resnet50")
simulations = given.get("calibration_simulations", calibration.BOOK_SIMULATIONS)
rates = calibration.read_calibration(results_dir, simulations)
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
glue("class_margin", 100 * verdicts.CLASS_MARGIN)
glue("pie_margin", 100 * verdicts.PIE_MARGIN)
glue("robustness_margin", 100 * verdicts.ROBUSTNESS_MARGIN)
glue("simulations", simulations)
glue("class_margin_t", 100 * verdicts.CLASS_MARGIN_SPARSITY)
for name, value in calibration.SIZES.items():
    glue(f"sim_{name}", value)
glue("null_max", result["null_max"])
glue("planted_min", result["planted_min"])
glue("underpowered", "; ".join(f"claim {c}: {why}" for c, why in calibration.UNDERPOWERED.items()))

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
# The null distribution of each test comes from the population itself:
#
# - *class counts* (claim `1`): the number of classes significant at level $t$ against the A/A counts
#   at the same sizes, one p-value per level, Holm over levels. The equivalence margin is
#   {glue:text}`class_margin:.2f` points of normalized class accuracy (half the smallest largest-class
#   change the paper reports, on ImageNet at {glue:text}`class_margin_t:.0f`% sparsity).
# - *PIE counts* (claim `2a`): the reference and the $t$-sparse models are pooled and split again at
#   random into groups of their sizes, and each split's disagreement set is counted. With no pruning
#   effect the two populations are exchangeable, so this permutation test is exact. (Splitting only
#   the dense models, the floor shown in the figures, gives too many false positives for a test,
#   because every split is drawn from the same fixed models.)
# - *PIE hardness* (claim `2`): at the same level, more PIEs than the permutations and held-out
#   accuracy on PIE$_t$ below that on the dense-vs-dense disagreement sets, the comparison the claim
#   is about (the count condition keeps the rule's false positives rare, measured below). "Easier"
#   and "equivalent", the ways to “not reproduced”, must hold against the dense-vs-dense sets and the
#   permuted sets alike; the equivalence margin is {glue:text}`pie_margin:.0f` points of top-1. A
#   null distribution with too few distinct values (tiny populations) gives no p-value.
# - *trends* (claims `1t` and `2t`): the correlation of the per-level statistic with sparsity against
#   every ordering of the levels, exact because with no effect the levels are exchangeable, and a
#   significant effect at the most sparse level (growth presupposes an effect).
# - “PIEs found at low sparsity are the hardest” (claim `2l`): the difference of held-out accuracy on
#   PIE at the lowest and the highest sparsity against re-splits of the two sparse populations pooled,
#   with more PIEs than chance at both levels (otherwise one side is a noise-floor set).
# - “More classes gain than lose” (claim `1r`): among the significant classes at the highest sparsity,
#   the surplus of rising over falling classes against the same surplus in the A/A splits.
# - *robustness* (claims `3a` and `3b`): Welch's t-test of per-model relative accuracy between the dense
#   reference and the most sparse models, for the mean over corruptions (or attacks) and for each
#   family, Holm over them; the equivalence margin is {glue:text}`robustness_margin:.2f` points of
#   relative top-1 (half the paper's mean loss over its Table 5's corruptions). {doc}`04_robustness`
#   applies the same rule to dense-vs-dense splits.

# %% [markdown]
# ## How often the rules are wrong
#
# The rules were run on simulated populations of the default sizes ($K$ = {glue:text}`sim_k` per sparse level,
# {glue:text}`sim_k_dense` dense, {glue:text}`sim_classes` classes, {glue:text}`sim_n` test images) built to resemble the default Fashion-MNIST population
# (`src/pruning_impact/verdicts/calibration.py`): with **no effect** (sparse models drawn from the dense
# distribution), with the effects **seen** in the default population, and with effects in the
# **paper's** direction where the default population does not show them. Over
# {glue:text}`simulations` simulations per scenario, the largest rate of "reproduced" with no effect
# is {glue:text}`null_max:.3f` and the smallest under the planted effect each claim is tested with is
# {glue:text}`planted_min:.3f` ({numref}`tab-calibration`); {glue:text}`underpowered`. The benchmark
# `benchmarks/verdict_calibration.py` runs the same simulations at a larger number.

# %% tags=["hide-input"]
planted = calibration.PLANTED
rows = []
for claim in sorted(rates["claim"].unique(), key=lambda c: list(verdicts.CLAIMS).index(c)):
    part = rates[rates["claim"] == claim].set_index("scenario")
    row = {
        "claim": claim,
        "no effect: reproduced": part.loc["no-effect", verdicts.REPRODUCED],
        "no effect: not reproduced": part.loc["no-effect", verdicts.NOT_REPRODUCED],
    }
    for scenario in ("seen", "paper"):
        row[f"{scenario}: reproduced"] = part.loc[scenario, verdicts.REPRODUCED]
    row["planted test"] = planted.get(claim, "none")
    rows.append(row)
show_table(
    pd.DataFrame(rows),
    "tab-calibration",
    f"Share of {simulations} simulated populations per scenario on which each rule says reproduced or not "
    "reproduced: with no effect (false verdicts), with the effects seen in the default population and with "
    "effects in the paper's direction. 'planted test' names the scenario whose rate is the rule's power.",
    digits=3,
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
