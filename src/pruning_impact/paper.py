"""Numbers reported in the paper (Hooker et al., "Selective Brain Damage", Tables 1-4), quoted with
credit so the book can set them beside the reproduced ones. Accuracies are fractions."""

from __future__ import annotations

import pandas as pd

SOURCE = "Hooker et al., Selective Brain Damage: Measuring the Disparate Impact of Model Pruning"

# Table 2: ImageNet ResNet-50, K = 30 per level, 1,000 classes, 50,000 test images.
IMAGENET_TOPLINES = pd.DataFrame({
    "sparsity": [0.0, 0.1, 0.3, 0.5, 0.7, 0.9],
    "top1": [0.7668, 0.7666, 0.7646, 0.7587, 0.7502, 0.7260],
    "top5": [0.9325, 0.9325, 0.9317, 0.9286, 0.9243, 0.9110],
    "n_significant": [None, 51, 69, 145, 317, 582],
    "n_pie": [None, 1694, 1819, 2193, 3073, 5136],
})
IMAGENET_CLASSES, IMAGENET_TEST = 1000, 50_000

# Table 3: CIFAR-10 Wide ResNet, K = 30 per level, 10 classes, 10,000 test images.
CIFAR10_TOPLINES = pd.DataFrame({
    "sparsity": [0.0, 0.1, 0.3, 0.5, 0.7, 0.9],
    "top1": [0.9453, 0.9451, 0.9447, 0.9439, 0.9430, 0.9414],
    "n_significant": [None, 1, 1, 1, 0, 2],
    "n_pie": [None, 97, 114, 144, 137, 216],
})
CIFAR10_CLASSES, CIFAR10_TEST = 10, 10_000

# Tables 1 (ImageNet) and 4 (CIFAR-10): class-level summary, no multiple-comparison correction.
IMAGENET_CLASS_SUMMARY = pd.DataFrame({
    "sparsity": [0.1, 0.3, 0.5, 0.7, 0.9],
    "model_accuracy_difference": [-0.0002, -0.002, -0.008, -0.017, -0.041],
    "n_increase": [29, 35, 91, 189, 337],
    "n_decrease": [22, 34, 54, 128, 245],
    "largest_increase_class": ["toaster", "bath tub", "petri dish", "cd player", "cd player"],
    "largest_increase": [0.025, 0.036, 0.034, 0.050, 0.088],
    "largest_decrease_class": ["am. chameleon", "cleaver", "frying pan", "tow truck", "muzzle"],
    "largest_decrease": [-0.026, -0.045, -0.047, -0.069, -0.128],
})
CIFAR10_CLASS_SUMMARY = pd.DataFrame({
    "sparsity": [0.1, 0.3, 0.5, 0.7, 0.9],
    "model_accuracy_difference": [-0.0002, -0.0006, -0.0014, -0.0023, -0.0039],
    "n_increase": [0, 1, 1, 0, 2],
    "n_decrease": [1, 0, 0, 0, 0],
    "largest_increase_class": [None, "frog", "truck", None, "truck"],
    "largest_increase": [None, 0.0022, 0.0022, None, 0.0030],
    "largest_decrease_class": ["automobile", None, None, None, None],
    "largest_decrease": [-0.0016, None, None, None, None],
})


def reported_fractions() -> pd.DataFrame:
    """The paper's top lines on a common scale: accuracy change, share of classes significant, share of PIEs."""
    frames = []
    for name, table, classes, test in (("ImageNet (paper)", IMAGENET_TOPLINES, IMAGENET_CLASSES, IMAGENET_TEST),
                                       ("CIFAR-10 (paper)", CIFAR10_TOPLINES, CIFAR10_CLASSES, CIFAR10_TEST)):
        dense = table.loc[table["sparsity"] == 0, "top1"].iloc[0]
        frames.append(pd.DataFrame({
            "source": name, "sparsity": table["sparsity"], "top1": table["top1"],
            "top1_change": table["top1"] - dense,
            "significant_class_fraction": table["n_significant"].astype(float) / classes,
            "pie_fraction": table["n_pie"].astype(float) / test,
        }))
    return pd.concat(frames, ignore_index=True)
