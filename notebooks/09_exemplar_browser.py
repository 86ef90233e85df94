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
# # Exemplar browser
#
# Every test image of the population, by class and by sparsity: whether it is a PIE at that sparsity,
# its *exemplar score*, both populations' votes and the image itself. The exemplar score is the
# taxicab distance between the label distributions of the dense reference and of the sparse models
# (see {doc}`07_methods`): $0$ when both give the same labels in the same proportions, $2$ when they share
# no label. A PIE is an image whose most frequent label differs between the two; a high score without
# a PIE flag is an image the sparse models disagree on without changing their majority.
#
# Choose a sparsity, a class, whether to show PIEs, non-PIEs or both, and an order; pages of
# {glue:text}`per_page` images follow. A card lists the image's number in the test set, its label, the
# score, and the labels each population gave with the number of models behind each. The page runs in the
# browser alone (no server, no network); the same files open on their own from the copy named below.

# %% tags=["parameters", "hide-input"]
profile = "fashion-mnist"  # type: str  named settings: smoke, fashion-mnist, fashion-mnist-k30, classroom, cifar10-wrn, imagenet-resnet50
results_dir = "results"  # type: str  folder of the trained populations, relative to where the notebook runs
population_size = None  # type: int|None  K models per sparse level, up to the trained K (None: the profile's)
dense_population_size = None  # type: int|None  dense models, up to the trained number (None: the profile's)
sparsities = None  # type: list|None  trained sparsities to show, a list or text such as "0 0.5 0.9" (None: the profile's)
seed = None  # type: int|None  base seed of the population (None: the profile's)
data_dir = None  # type: str|None  folder of the dataset, to show test images (None: the profile's)

# %% tags=["hide-input"]
from IPython.display import HTML, display

from pruning_impact.book import open_chapter, paths
from pruning_impact.study import exemplar_browser, files

chapter = open_chapter(vars())
# beside the book's own static files: the build copies them into the HTML
folder = exemplar_browser.population_browser(chapter.results_dir, chapter.settings, paths.EXEMPLARS_DIR)
chapter.glue_all(
    {
        "per_page": exemplar_browser.PER_PAGE,
        "num_test": chapter.num_test,
        "k_reference": chapter.k_reference,
        "k_sparse": chapter.k,
    }
)

# %% [markdown]
# The browser below holds the {glue:text}`num_test` test images; the dense reference is the first
# {glue:text}`k_reference` dense models (as in every chapter) and each sparse level has
# {glue:text}`k_sparse` models.

# %% tags=["remove-input"]
display(HTML(exemplar_browser.embed(f"../{paths.EXEMPLARS_DIR}/{folder.name}")))
chapter.show_note(
    f"{chapter.describe()} A copy that opens on its own: `{paths.EXEMPLARS_DIR}/{folder.name}/"
    f"{files.BROWSER_INDEX_FILE}` in the built HTML."
)
