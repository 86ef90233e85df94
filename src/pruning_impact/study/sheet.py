"""The annotation sheet: the six yes/no questions of the paper's appendix (``QUESTIONS``), a balanced,
shuffled sample of PIE_t and non-PIE_t test images, and one self-contained HTML page that shows them
(images inline, progress kept in the browser, answers downloaded as CSV, no network) beside a separate key
that the page does not contain (``export_sheet``)."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import AnnotationError
from pruning_impact.study import files


@dataclass(frozen=True)
class Question:
    """One yes/no question of the sheet and the property of Figure 5 it codes."""

    name: str  # column of the answers file
    text: str  # as the annotator reads it (label 1 is the test set's label; labels 2 and 3 are close classes)
    prop: str  # the property counted in the study's table
    present_when: int  # the answer (0 or 1) that means the image has the property
    group: str  # the paper's grouping: a poorly specified task or a challenging exemplar


# The appendix's six questions, in our words; Figure 5 counts the property each one codes.
QUESTIONS = (
    Question(
        "label_correct",
        "Does label 1 correctly name an object that is in the image?",
        "incorrect or insufficient label",
        0,
        "poorly specified task",
    ),
    Question(
        "single_object",
        "Does the image show one object only (no other object that one of the labels could name)?",
        "several objects",
        0,
        "poorly specified task",
    ),
    Question(
        "fine_grained",
        "Are labels 1, 2 and 3 so close in meaning that telling them apart needs a fine-grained distinction?",
        "fine-grained classes",
        1,
        "challenging exemplar",
    ),
    Question(
        "typical",
        "Is the object a typical example of label 1?",
        "atypical example",
        0,
        "challenging exemplar",
    ),
    Question(
        "corrupted",
        "Is the image of poor quality (blur, noise, low contrast, pixelation, overlaid text, odd brightness, "
        "a frame, compression artefacts)?",
        "image corruption",
        1,
        "challenging exemplar",
    ),
    Question(
        "abstract",
        "Is the object shown in an abstract form (a drawing, painting, cartoon, sculpture or another material)?",
        "abstract representation",
        1,
        "challenging exemplar",
    ),
)
QUESTION_NAMES = tuple(q.name for q in QUESTIONS)
ANSWER_COLUMNS = ("sheet_id", "annotator", "item", *QUESTION_NAMES)
KEY_COLUMNS = ("sheet_id", "item", "example", "label", "label_name", "label_2", "label_3", "is_pie", "sparsity")
KEY_HINT = store.key_file(Path(), "<sheet>").name  # what error messages ask for
SHOWN_PIXELS = 140  # images smaller than this are enlarged (whole multiples) to about this size on the sheet


# ----------------------------------------------------------------------------- the sheet


def sample_items(is_pie, n: int, seed: int = 0) -> np.ndarray:
    """Test indices of ``n / 2`` PIEs and ``n / 2`` non-PIEs drawn at random (seeded) and shuffled together."""
    is_pie = np.asarray(is_pie, dtype=bool)
    if n < 2 or n % 2:
        raise AnnotationError(f"--n {n}: give an even number >= 2 (half PIEs, half non-PIEs)")
    half = n // 2
    pies, others = np.flatnonzero(is_pie), np.flatnonzero(~is_pie)
    if not len(pies) or not len(others):
        raise AnnotationError(
            f"this level has {len(pies)} PIEs and {len(others)} non-PIEs: a balanced sheet needs both; choose "
            "another --sparsity"
        )
    if len(pies) < half or len(others) < half:
        most = 2 * min(len(pies), len(others))
        raise AnnotationError(
            f"--n {n} needs {half} PIEs and {half} non-PIEs, but this level has {len(pies)} PIEs and "
            f"{len(others)} non-PIEs: give --n {most} or less"
        )
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(pies, half, replace=False), rng.choice(others, half, replace=False)])
    return rng.permutation(chosen)


def close_labels(predictions, labels, num_classes: int) -> np.ndarray:
    """Labels 2 and 3 of each class, [C, 2]: the two other classes that the models of ``predictions`` [K, N]
    confuse the class with most often over the test set (ties: lower index first). Every image of a class
    shows the same pair, so the pair says nothing about the image itself (an image's own votes would set PIEs
    apart from the rest)."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if num_classes < 3:
        raise AnnotationError("the sheet shows three labels per image: the dataset needs at least 3 classes")
    confusion = np.zeros((num_classes, num_classes))
    np.add.at(confusion, (np.broadcast_to(labels, predictions.shape), predictions), 1)
    out = np.empty((num_classes, 2), dtype=np.int64)
    for label in range(num_classes):
        order = sorted((c for c in range(num_classes) if c != label), key=lambda c: (-confusion[label, c], c))
        out[label] = order[:2]
    return out


def sheet_id(population: str, sparsity: float, seed: int, indices) -> str:
    """A short name of the sheet: the same population, level, seed and images give the same id (a re-export
    finds the progress the browser kept)."""
    described = json.dumps([population, float(sparsity), int(seed), [int(i) for i in indices]])
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def png_data_uri(image: np.ndarray, scale: int = 1) -> str:
    """A uint8 image ([H, W] or [H, W, C]) as a PNG data URI, enlarged ``scale`` times (nearest)."""
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def sheet_html(sheet: str, title: str, items: list[dict], class_names: Sequence[str]) -> str:
    """The page an annotator fills: ``items`` (item, image URI, labels 1-3) and the questions, no PIE label."""
    data = {
        "sheet": sheet,
        "title": title,
        "questions": [{"name": q.name, "text": q.text} for q in QUESTIONS],
        "columns": list(ANSWER_COLUMNS),
        "items": items,
        "classNames": list(class_names),
    }
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # safe inside <script>
    return files.SHEET_TEMPLATE.read_text().replace("__TITLE__", html.escape(title)).replace("__SHEET_DATA__", payload)


@dataclass(frozen=True)
class Sheet:
    """What ``export_sheet`` wrote."""

    sheet_id: str
    page: Path
    key: Path
    key_table: pd.DataFrame


def export_sheet(
    out: str | Path,
    population: str,
    sparsity: float,
    is_pie,
    labels,
    close_predictions,
    class_names: Sequence[str],
    images,
    n: int = 200,
    seed: int = 0,
    key_out: str | Path | None = None,
) -> Sheet:
    """Write ``sheet-<id>.html`` (for annotators) and ``key-<id>.csv`` (for whoever imports) into ``out``.

    ``is_pie`` [N]: PIE_t at ``sparsity``; ``close_predictions`` [K, N]: the models whose confusions choose
    labels 2 and 3 of each class (models that did not choose the PIEs); ``images(indices)`` returns the raw
    test images. The key may go to another folder (``key_out``), away from the sheet."""
    out = folders.check_writable(Path(out), "annotation sheet")  # before the work, not after
    key_folder = out if key_out is None else folders.check_writable(Path(key_out), "annotation key")
    labels = np.asarray(labels)
    indices = sample_items(is_pie, n, seed)
    pairs = close_labels(close_predictions, labels, len(class_names))
    sheet = sheet_id(population, sparsity, seed, indices)
    pictures = images(indices)
    scale = max(1, math.ceil(SHOWN_PIXELS / max(pictures.shape[1:3])))  # small images enlarged, large ones as they are
    names = list(class_names)
    items, key_rows = [], []
    for item, (index, picture) in enumerate(zip(indices, pictures), start=1):
        label = int(labels[index])
        second, third = pairs[label]
        items.append(
            {
                "item": item,
                "image": png_data_uri(picture, scale),
                "width": picture.shape[1] * scale,
                "labels": [names[label], names[second], names[third]],
            }
        )
        key_rows.append(
            {
                "sheet_id": sheet,
                "item": item,
                "example": int(index),
                "label": label,
                "label_name": names[label],
                "label_2": names[second],
                "label_3": names[third],
                "is_pie": int(bool(np.asarray(is_pie)[index])),
                "sparsity": float(sparsity),
            }
        )
    page, key = store.sheet_file(out, sheet), store.key_file(key_folder, sheet)
    title = f"Annotation sheet {sheet}: {n} images of {population}"
    folders.atomic_write_bytes(page, sheet_html(sheet, title, items, names).encode())
    key_table = pd.DataFrame(key_rows, columns=list(KEY_COLUMNS))
    folders.atomic_write_bytes(key, key_table.to_csv(index=False).encode())
    return Sheet(sheet, page, key, key_table)


# ----------------------------------------------------------------------------- answers


# ----------------------------------------------------------------------------- statistics


def questions_table() -> pd.DataFrame:
    """The sheet's questions and the property each one codes, for the chapter."""
    return pd.DataFrame(
        {
            "answers column": [q.name for q in QUESTIONS],
            "question on the sheet": [q.text for q in QUESTIONS],
            "property counted": [f"{q.prop} (answer {'yes' if q.present_when else 'no'})" for q in QUESTIONS],
        }
    )


# ----------------------------------------------------------------------------- example answers (not human)


# ----------------------------------------------------------------------------- from a stored population
