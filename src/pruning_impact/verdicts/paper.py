"""Numbers reported in the paper (Hooker et al., "Selective Brain Damage", Tables 1-5 and Figure 5), quoted
with credit so the book can set them beside the reproduced ones. Accuracies and shares are fractions."""

from __future__ import annotations

import pandas as pd

SOURCE = "Hooker et al., Selective Brain Damage: Measuring the Disparate Impact of Model Pruning"
POPULATION_SIZE = 30  # K, models per sparsity level in every population of the paper (Sections 2 and 3)

# Table 2: ImageNet ResNet-50, K = 30 per level, 1,000 classes, 50,000 test images.
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

# Table 3: CIFAR-10 Wide ResNet, K = 30 per level, 10 classes, 10,000 test images.
CIFAR10_TOPLINES = pd.DataFrame(
    {
        "sparsity": [0.0, 0.1, 0.3, 0.5, 0.7, 0.9],
        "top1": [0.9453, 0.9451, 0.9447, 0.9439, 0.9430, 0.9414],
        "n_significant": [None, 1, 1, 1, 0, 2],
        "n_pie": [None, 97, 114, 144, 137, 216],
    }
)
CIFAR10_CLASSES, CIFAR10_TEST = 10, 10_000

# Tables 1 (ImageNet) and 4 (CIFAR-10): class-level summary, no multiple-comparison correction.
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

# Table 5: ImageNet-C, mean over models and the five severities; relative = % of clean accuracy.
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
# The ten corruptions Table 5 lists (of the 15 evaluated for Figure 7), in its order.
TABLE5_CORRUPTIONS: tuple[str, ...] = tuple(IMAGENET_C_TABLE5["corruption"].drop_duplicates())

# Figure 5 and Section 3.2: the authors' limited human study of 400 ImageNet test images, half PIE_90 and
# half not, shuffled with the PIE label hidden; the share of each group with each property (the property
# names are ``annotation.QUESTIONS``'; the study reported no share for atypical examples).
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
