"""Numbers reported in the paper (Hooker et al., "Selective Brain Damage", Tables 1-5 and Figure 5), quoted
with credit so the book can set them beside the reproduced ones. Accuracies and shares are fractions.

Where the paper states one thing in two ways, ``INCONSISTENCIES`` lists both, where each appears, and which
one the book uses; a fact the paper does not state is said to be the book's choice, not the paper's."""

from __future__ import annotations

import pandas as pd

SOURCE = "Hooker et al., Selective Brain Damage: Measuring the Disparate Impact of Model Pruning"
# K, models per sparsity level: Section 2's setup and Section 2.1 (Table 5's caption says 50: INCONSISTENCIES)
POPULATION_SIZE = 30

# Table 2: ImageNet ResNet-50, mean over the runs of each level. 1,000 classes (Section 3.1). The paper does
# not state the test set's size; 50,000 is ImageNet's validation set, which Section 3.2's share of PIEs at
# 90% sparsity fits (5,136 PIEs, 10.27%; its share at 10% does not: INCONSISTENCIES).
IMAGENET_TOPLINES = pd.DataFrame(
    {
        "sparsity": [0.0, 0.1, 0.3, 0.5, 0.7, 0.9],
        "top1": [0.7668, 0.7666, 0.7646, 0.7587, 0.7502, 0.7260],
        "top5": [0.9325, 0.9325, 0.9317, 0.9286, 0.9243, 0.9110],
        "n_significant": [None, 51, 69, 145, 317, 582],
        "n_pie": [None, 1694, 1819, 2193, 3073, 5136],
    }
)
IMAGENET_CLASSES, IMAGENET_TEST = 1000, 50_000

# Table 3: CIFAR-10 wide ResNet (depth and width not stated in the paper), mean over the runs of each level;
# its dense top-1 differs from Section 2's (INCONSISTENCIES). 10 classes; 10,000 test images is CIFAR-10's
# test set (not stated in the paper; Section 3.2's PIE shares fit it).
CIFAR10_TOPLINES = pd.DataFrame(
    {
        "sparsity": [0.0, 0.1, 0.3, 0.5, 0.7, 0.9],
        "top1": [0.9453, 0.9451, 0.9447, 0.9439, 0.9430, 0.9414],
        "n_significant": [None, 1, 1, 1, 0, 2],
        "n_pie": [None, 97, 114, 144, 137, 216],
    }
)
CIFAR10_CLASSES, CIFAR10_TEST = 10, 10_000

# Tables 1 (ImageNet) and 4 (CIFAR-10): class-level summary, Welch's test at p <= 0.05 per class with no
# correction for multiple comparisons mentioned (Section 2.1). The model accuracy differences are fractions,
# although the captions call them percentage points (INCONSISTENCIES).
IMAGENET_CLASS_SUMMARY = pd.DataFrame(
    {
        "sparsity": [0.1, 0.3, 0.5, 0.7, 0.9],
        "model_accuracy_difference": [-0.0002, -0.002, -0.008, -0.017, -0.041],
        "n_increase": [29, 35, 91, 189, 337],
        "n_decrease": [22, 34, 54, 128, 245],
        "largest_increase_class": ["toaster", "bath tub", "petri dish", "cd player", "cd player"],
        "largest_increase": [0.025, 0.036, 0.034, 0.050, 0.088],
        "largest_decrease_class": ["am. chameleon", "cleaver", "frying pan", "tow truck", "muzzle"],
        "largest_decrease": [-0.026, -0.045, -0.047, -0.069, -0.128],
    }
)
CIFAR10_CLASS_SUMMARY = pd.DataFrame(
    {
        "sparsity": [0.1, 0.3, 0.5, 0.7, 0.9],
        "model_accuracy_difference": [-0.0002, -0.0006, -0.0014, -0.0023, -0.0039],
        "n_increase": [0, 1, 1, 0, 2],
        "n_decrease": [1, 0, 0, 0, 0],
        "largest_increase_class": [None, "frog", "truck", None, "truck"],
        "largest_increase": [None, 0.0022, 0.0022, None, 0.0030],
        "largest_decrease_class": ["automobile", None, None, None, None],
        "largest_decrease": [-0.0016, None, None, None, None],
    }
)

# Table 5 (the paper's appendix table, captioned Table 5): ImageNet-C top-1 and top-5 at sparsities 0, 0.3,
# 0.7 and 0.9, averaged over models and the five severities; "relative" is that accuracy over the level's
# mean clean accuracy (Section 3.3, Figure 7's caption), here a fraction (printed in %). The caption says
# 50 models per level (INCONSISTENCIES). Names follow Hendrycks & Dietterich's code (the table writes
# "elastic", "defocus blur"...).
_TABLE5 = """\
brightness 0.0 0.69 0.89 90.90 95.53|brightness 0.3 0.69 0.89 90.51 95.35|brightness 0.7 0.67 0.88 90.01 95.08|brightness 0.9 0.64 0.86 88.39 94.02
contrast 0.0 0.42 0.62 55.32 66.35|contrast 0.3 0.42 0.62 55.15 66.27|contrast 0.7 0.41 0.62 55.13 66.64|contrast 0.9 0.38 0.58 52.44 64.16
defocus_blur 0.0 0.50 0.72 65.10 77.79|defocus_blur 0.3 0.49 0.72 64.65 77.52|defocus_blur 0.7 0.47 0.71 63.33 76.50|defocus_blur 0.9 0.45 0.68 61.60 74.95
elastic_transform 0.0 0.57 0.77 74.68 82.36|elastic_transform 0.3 0.57 0.77 74.33 82.18|elastic_transform 0.7 0.55 0.75 73.46 81.48|elastic_transform 0.9 0.53 0.74 72.80 80.84
fog 0.0 0.56 0.79 73.52 85.08|fog 0.3 0.56 0.79 73.31 85.04|fog 0.7 0.54 0.78 72.62 84.68|fog 0.9 0.50 0.75 69.42 82.46
gaussian_noise 0.0 0.45 0.66 59.42 70.50|gaussian_noise 0.3 0.45 0.65 58.44 69.63|gaussian_noise 0.7 0.42 0.62 56.03 67.52|gaussian_noise 0.9 0.33 0.51 45.32 56.53
impulse_noise 0.0 0.42 0.63 55.24 67.81|impulse_noise 0.3 0.41 0.62 53.97 66.74|impulse_noise 0.7 0.38 0.59 50.55 63.65|impulse_noise 0.9 0.25 0.43 34.86 47.36
jpeg_compression 0.0 0.66 0.86 86.00 92.61|jpeg_compression 0.3 0.65 0.86 85.35 92.24|jpeg_compression 0.7 0.63 0.85 84.64 91.78|jpeg_compression 0.9 0.61 0.83 83.50 90.89
pixelate 0.0 0.57 0.78 75.00 83.80|pixelate 0.3 0.57 0.78 74.47 83.46|pixelate 0.7 0.55 0.76 73.25 82.43|pixelate 0.9 0.51 0.73 70.73 80.13
shot_noise 0.0 0.44 0.64 57.32 68.78|shot_noise 0.3 0.43 0.63 56.12 67.73|shot_noise 0.7 0.40 0.60 53.19 64.97|shot_noise 0.9 0.31 0.49 42.46 53.65"""
IMAGENET_C_TABLE5 = pd.DataFrame(
    [row.split() for line in _TABLE5.splitlines() for row in line.split("|")],
    columns=["corruption", "sparsity", "top1", "top5", "relative_top1", "relative_top5"],
).astype({"sparsity": float, "top1": float, "top5": float, "relative_top1": float, "relative_top5": float})
IMAGENET_C_TABLE5[["relative_top1", "relative_top5"]] /= 100
# The ten corruptions Table 5 lists, in its order: Figure 7's caption points to the appendix for every
# corruption considered, and this table is the only list there (Figure 7 shows a subset).
TABLE5_CORRUPTIONS: tuple[str, ...] = tuple(IMAGENET_C_TABLE5["corruption"].drop_duplicates())

# Figure 5, Section 3.2 and Appendix 6.5: the authors' limited human study, labelled by the authors
# themselves (footnote 1) on ImageNet test images, a balanced random sample of PIEs and non-PIEs, shuffled
# with the PIE label hidden. Section 3.2 gives 400 images, read here as the total (200 of each); at which
# sparsity the PIEs were found is not stated in the paper. Shares are of each group; the property names
# are those of ``study.sheet.QUESTIONS``. The appendix asks whether an image is a typical example, but the
# paper reports no share for it.
HUMAN_STUDY_SIZE = 400
HUMAN_STUDY = pd.DataFrame(
    {
        "property": [
            "incorrect or insufficient label",
            "several objects",
            "fine-grained classes",
            "atypical example",
            "image corruption",
            "abstract representation",
        ],
        "share_pie": [0.095, 0.508, 0.382, None, 0.121, 0.035],
        "share_non_pie": [0.029, 0.223, 0.083, None, 0.087, 0.015],
    }
).astype({"share_pie": float, "share_non_pie": float})


def reported_fractions() -> pd.DataFrame:
    """The paper's top lines on a common scale: accuracy change, share of classes significant, share of PIEs."""
    frames = []
    for name, table, classes, test in (
        ("ImageNet (paper)", IMAGENET_TOPLINES, IMAGENET_CLASSES, IMAGENET_TEST),
        ("CIFAR-10 (paper)", CIFAR10_TOPLINES, CIFAR10_CLASSES, CIFAR10_TEST),
    ):
        dense = table.loc[table["sparsity"] == 0, "top1"].iloc[0]
        frames.append(
            pd.DataFrame(
                {
                    "source": name,
                    "sparsity": table["sparsity"],
                    "top1": table["top1"],
                    "top1_change": table["top1"] - dense,
                    "significant_class_fraction": table["n_significant"].astype(float) / classes,
                    "pie_fraction": table["n_pie"].astype(float) / test,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# Where the paper gives two values (or two names) for one thing, or states none: what the book takes, and why.
INCONSISTENCIES = pd.DataFrame(
    [
        (
            "CIFAR-10 dense top-1",
            "94.35% (Section 2, setup); 94.53% (Table 3)",
            "94.53% (Table 3)",
            "Table 4's accuracy differences are measured from it (94.14 - 94.53 = -0.39 points at 90%, "
            "Table 4's -0.0039); from 94.35 they would be -0.21 points",
        ),
        (
            "ImageNet PIEs at 10% sparsity, share of the test set",
            "3.34% (Section 3.2); 1,694 PIEs (Table 2), 3.39% of 50,000 images",
            "1,694 PIEs (Table 2)",
            "the other three shares of Section 3.2 (10.27%, 0.97%, 2.16%) equal Tables 2 and 3's counts over "
            "the test set; 3.34% fits no count in the tables",
        ),
        (
            "models per sparsity level",
            "30 (Section 2, setup; Section 2.1; captions of Figures 2, 4, 6 and 7); 50 (Table 5's caption)",
            "K = 30; Table 5's values as printed",
            "every other statement says 30 and the paper describes no second population; the book cannot "
            "tell which models Table 5 averages",
        ),
        (
            "table of the ImageNet-A and ImageNet-C results",
            "Table 7 (Section 1); the paper has Tables 1 to 5 only",
            "Table 5 (ImageNet-C) and Figure 7 (ImageNet-A, some ImageNet-C corruptions)",
            "they are the paper's only robustness results",
        ),
        (
            "raw ImageNet-C results",
            "Figure 5 (Appendix 6.4), which is the human study; Table 5 (its own caption)",
            "Table 5",
            "it is the appendix table of ImageNet-C accuracies",
        ),
        (
            "CIFAR-10 class-level summary",
            "Table 6.2 (Appendix 6.2); captioned Table 4",
            "Table 4",
            "no table is numbered 6.2",
        ),
        (
            "unit of the model accuracy difference (Tables 1 and 4)",
            "percentage points (both captions); the values are fractions of 1 (Table 1 at 90%: -0.041, "
            "Table 2: 72.60 - 76.68 = -4.08 points)",
            "fractions, as printed",
            "the values agree with Tables 2 and 3 only as fractions",
        ),
        (
            "ImageNet batch size",
            "1,024 (Section 2), with 32,000 steps and about 90 epochs (Section 2)",
            "4,096 (the authors' released code)",
            "32,000 steps of 1,024 images are about 26 epochs of ImageNet; of 4,096, about 102",
        ),
        (
            "CIFAR-10 architecture",
            "a wide ResNet (Zagoruyko & Komodakis), with batch norm (Section 2); depth and width not stated",
            "WRN-28-10",
            "one of the cited paper's CIFAR-10 configurations, this book's choice (no CIFAR-10 code was released)",
        ),
        (
            "human study sample",
            "400 PIE and non-PIE ImageNet images (Section 3.2), a balanced sample (Appendix 6.5); the sparsity "
            "of the PIEs not stated",
            f"{HUMAN_STUDY_SIZE} images, half PIEs; no sparsity",
            "the wording could also mean 400 of each; read as the total, and balanced as half each",
        ),
    ],
    columns=["what", "in the paper (where)", "this book uses", "why"],
)


def inconsistency_table() -> pd.DataFrame:
    """``INCONSISTENCIES``, for the method chapter: each of the paper's conflicting or missing statements,
    where each appears and which one the book uses, so that no choice between them is made silently."""
    return INCONSISTENCIES.copy()
