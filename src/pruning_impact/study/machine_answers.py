"""Machine answers to a sheet by a stated rule (``EXAMPLE_RULE``, from simple image statistics and the
population's votes), so the book's chapter has answers to show: they are not human data, and the chapter
says so."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from pruning_impact.study.sheet import ANSWER_COLUMNS, QUESTION_NAMES

EXAMPLE_RULE = {
    "label_correct": "1 when the outside dense models' most frequent label is the image's label",
    "single_object": "1 always (the rule cannot see several objects)",
    "fine_grained": "1 when label 2 got at least a fifth of the outside dense models' votes for the image",
    "typical": "1 unless the image is among the 10% of its class furthest from the class's mean test image",
    "corrupted": "1 when the image's contrast (pixel standard deviation) is among the lowest 5% of the test set",
    "abstract": "0 always (the rule cannot see abstraction)",
}


EXAMPLE_FLIP = 0.1  # each machine annotator flips each answer with this probability (seeded), to disagree


def rule_table() -> pd.DataFrame:
    """``EXAMPLE_RULE`` as a table, for the chapter."""
    return pd.DataFrame({"answers column": list(EXAMPLE_RULE), "the rule's answer": list(EXAMPLE_RULE.values())})


def image_statistics(
    images: Callable[[np.ndarray], np.ndarray], labels, chunk: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Per test image: its distance to its class's mean image and its contrast (standard deviation of its
    pixels), reading the images ``chunk`` at a time (two passes; ImageNet's do not fit in memory at once)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    sums, counts = {}, {c: int((labels == c).sum()) for c in classes}
    contrast = np.empty(len(labels))
    for start in range(0, len(labels), chunk):
        index = np.arange(start, min(start + chunk, len(labels)))
        pixels = np.asarray(images(index), dtype=np.float32).reshape(len(index), -1)
        contrast[index] = pixels.std(axis=1)
        for c in np.unique(labels[index]):
            sums[c] = sums.get(c, 0) + pixels[labels[index] == c].sum(axis=0)
    means = {c: sums[c] / counts[c] for c in classes}
    distance = np.empty(len(labels))
    for start in range(0, len(labels), chunk):
        index = np.arange(start, min(start + chunk, len(labels)))
        pixels = np.asarray(images(index), dtype=np.float32).reshape(len(index), -1)
        centres = np.stack([means[c] for c in labels[index]])
        distance[index] = np.linalg.norm(pixels - centres, axis=1)
    return distance, contrast


def example_answers(
    key: pd.DataFrame,
    outside,
    labels,
    test_images: Callable[[np.ndarray], np.ndarray],
    class_names: Sequence[str],
    annotators: int = 2,
    seed: int = 0,
) -> list[pd.DataFrame]:
    """Machine answers to the sheet by ``EXAMPLE_RULE``, one table per machine annotator (each flips every
    answer with probability ``EXAMPLE_FLIP``); the rule reads the images (``test_images(indices)``) and
    ``outside``, dense models that did not choose the PIEs; of the key, it reads the image and label 2,
    never which images are PIEs. Not human data: they exist so the study's tables and figure can be built and read."""
    outside, labels = np.asarray(outside), np.asarray(labels)
    from pruning_impact.analysis.pie import modal_labels

    modes = modal_labels(outside)
    distance, contrast = image_statistics(test_images, labels)
    typical_limit = {c: np.percentile(distance[labels == c], 90) for c in np.unique(labels)}
    low_contrast = np.percentile(contrast, 5)
    examples = key["example"].to_numpy()
    second = np.array([list(class_names).index(name) for name in key["label_2"]])
    votes_second = (outside[:, examples] == second).mean(axis=0)
    rule = pd.DataFrame(
        {
            "item": key["item"].to_numpy(),
            "label_correct": (modes[examples] == labels[examples]).astype(int),
            "single_object": 1,
            "fine_grained": (votes_second >= 0.2).astype(int),
            "typical": (distance[examples] < np.array([typical_limit[c] for c in labels[examples]])).astype(int),
            "corrupted": (contrast[examples] <= low_contrast).astype(int),
            "abstract": 0,
        }
    )
    rng = np.random.default_rng(seed)
    out = []
    for index in range(annotators):
        answers = rule.copy()
        flips = rng.random((len(rule), len(QUESTION_NAMES))) < EXAMPLE_FLIP
        answers[list(QUESTION_NAMES)] = np.where(flips, 1 - rule[list(QUESTION_NAMES)], rule[list(QUESTION_NAMES)])
        answers.insert(0, "annotator", f"rule-{chr(ord('a') + index)}")
        answers.insert(0, "sheet_id", key["sheet_id"].iloc[0])
        out.append(answers[list(ANSWER_COLUMNS)])
    return out
