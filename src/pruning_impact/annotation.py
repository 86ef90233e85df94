"""A blinded annotation study of PIEs (the paper's Section 3.2, Figure 5 and Appendix 6.5), runnable by anyone.

``export_sheet`` draws a balanced, shuffled sample of PIE_t and non-PIE_t test images and writes it as one
self-contained HTML page (images inline, the six yes/no questions of the appendix per image, progress kept
in the browser, answers downloaded as CSV, no network) and a separate key that the page does not contain.
``import_answers`` joins one or more annotators' CSV files with the key, refusing anything that does not fit
it; ``property_table`` gives each property's share among PIEs and non-PIEs with Wilson intervals and
Fisher's exact test, ``agreement`` the annotators' agreement (Cohen's and Fleiss' kappa).
``example_answers`` makes machine answers by a stated rule, so the book's chapter has data to show; they are
not human data.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import store
from .errors import PruningImpactError
from .stats import holm


class AnnotationError(PruningImpactError):
    """An annotation sheet that cannot be made, or answers that do not fit their key; the message says why."""


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
TEMPLATE = Path(__file__).with_name("templates") / "annotation_sheet.html"
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
    return TEMPLATE.read_text().replace("__TITLE__", html.escape(title)).replace("__SHEET_DATA__", payload)


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
    out = store.check_writable(Path(out), "annotation sheet")  # before the work, not after
    key_folder = out if key_out is None else store.check_writable(Path(key_out), "annotation key")
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
    store.atomic_write_bytes(page, sheet_html(sheet, title, items, names).encode())
    key_table = pd.DataFrame(key_rows, columns=list(KEY_COLUMNS))
    store.atomic_write_bytes(key, key_table.to_csv(index=False).encode())
    return Sheet(sheet, page, key, key_table)


# ----------------------------------------------------------------------------- answers


def read_csv(path: Path, what: str, instead: str, **options) -> pd.DataFrame:
    """A CSV file, or one message naming it, why it cannot be read and what to pass ``instead``."""
    try:
        return pd.read_csv(path, **options)
    except (OSError, ValueError) as exc:
        raise AnnotationError(f"cannot read the {what} {path}: {exc}; pass {instead}") from None


def read_key(path: str | Path) -> pd.DataFrame:
    """A key file written by ``export_sheet``; anything else is refused with what to pass instead."""
    path = Path(path)
    # an id may be all digits, with leading zeros: read as text
    key = read_csv(path, "key", f"the {KEY_HINT} written with the sheet", dtype={"sheet_id": str})
    missing = [c for c in KEY_COLUMNS if c not in key.columns]
    if missing:
        problem = f"it lacks the column(s) {', '.join(missing)}"
    elif key.empty:
        problem = "it has no rows"
    elif key["sheet_id"].astype(str).nunique() != 1:
        problem = "it names several sheets"
    else:
        return key.assign(sheet_id=key["sheet_id"].astype(str))
    raise AnnotationError(
        f"{path} is not the key of one annotation sheet ({problem}); pass the {KEY_HINT} written with the sheet"
    )


def read_answers(path: str | Path, key: pd.DataFrame) -> pd.DataFrame:
    """One annotator's answers, checked against ``key``: one clear message for the first thing that does not
    fit (another sheet, a missing or unknown column, item or value)."""
    path = Path(path)
    sheet = key["sheet_id"].iloc[0]
    answers = read_csv(path, "answers", "the CSV the sheet's button downloaded", dtype=str, keep_default_na=False)
    missing = [c for c in ANSWER_COLUMNS if c not in answers.columns]
    if missing:
        raise AnnotationError(
            f"{path} is not an answers file of an annotation sheet: it lacks the column(s) {', '.join(missing)}; "
            "pass the CSV that the sheet's download button saved"
        )
    if answers.empty:
        raise AnnotationError(f"{path} holds no answers; fill the sheet and download its answers again")
    sheets = sorted(set(answers["sheet_id"].str.strip()))
    if len(sheets) > 1:
        raise AnnotationError(
            f"{path} mixes answers of several sheets ({', '.join(sheets)}); keep one sheet's answers per file"
        )
    if sheets != [sheet]:
        raise AnnotationError(
            f"{path} answers sheet {', '.join(sheets)}, but the key is of sheet {sheet}: import it with the key "
            f"exported with {store.sheet_file(Path(), sheets[0]).name} ({store.key_file(Path(), sheets[0]).name})"
        )
    annotators = sorted(set(answers["annotator"].str.strip()))
    if "" in annotators:
        raise AnnotationError(
            f"{path} has rows without an annotator name; the sheet asks for a name before it downloads: fill "
            "the column annotator"
        )
    if len(annotators) != 1:
        raise AnnotationError(
            f"{path} should hold one annotator's answers, under one name; it has "
            f"{', '.join(repr(a) for a in annotators)}: give each annotator a file of their own"
        )
    items = pd.to_numeric(answers["item"].str.strip(), errors="coerce")
    expected = set(key["item"].astype(int))
    unknown = sorted(set(answers["item"][items.isna() | ~items.isin(expected)]))
    if unknown:
        raise AnnotationError(f"{path} answers items that the sheet does not have: {', '.join(unknown[:10])}")
    repeated = sorted(set(items[items.duplicated()].astype(int)))
    if repeated:
        raise AnnotationError(f"{path} answers items {repeated[:10]} more than once; keep one row per item")
    absent = sorted(expected - set(items.astype(int)))
    if absent:
        raise AnnotationError(
            f"{path} lacks {len(absent)} of the sheet's {len(expected)} items (first: {absent[:10]}); finish them "
            "in the sheet (it kept your progress) and download the answers again"
        )
    values = answers[list(QUESTION_NAMES)].apply(lambda column: column.str.strip())
    blank = [
        (int(i), q)
        for i, row in zip(items, values.itertuples(index=False))
        for q, v in zip(QUESTION_NAMES, row)
        if v == ""
    ]
    if blank:
        shown = ", ".join(f"item {i}: {q}" for i, q in blank[:5])
        raise AnnotationError(
            f"{path} leaves {len(blank)} answer(s) empty ({shown}{', ...' if len(blank) > 5 else ''}); answer them "
            "in the sheet (it kept your progress) and download the answers again"
        )
    invalid = [
        (int(i), q, v)
        for i, row in zip(items, values.itertuples(index=False))
        for q, v in zip(QUESTION_NAMES, row)
        if v not in ("0", "1")
    ]
    if invalid:
        i, q, v = invalid[0]
        raise AnnotationError(
            f"{path}: item {i}, question {q} has {v!r}; every answer is 0 (no) or 1 (yes) "
            f"({len(invalid)} invalid value(s) in all)"
        )
    out = values.astype(int)
    out.insert(0, "item", items.astype(int).to_numpy())
    out.insert(0, "annotator", annotators[0])
    return out.sort_values("item").reset_index(drop=True)


def import_answers(paths: Sequence[str | Path], key_path: str | Path) -> pd.DataFrame:
    """Every annotator's answers joined with the key: one row per (annotator, item), with the key's columns
    (the example, its label, whether it is a PIE). Two files by the same annotator are refused."""
    if not paths:
        raise AnnotationError("name at least one answers file")
    key = read_key(key_path)
    frames, seen = [], {}
    for path in paths:
        answers = read_answers(path, key)
        name = answers["annotator"].iloc[0]
        if name in seen:
            raise AnnotationError(
                f"{path} and {seen[name]} are both by annotator {name!r}: import one file per annotator"
            )
        seen[name] = path
        frames.append(answers)
    joined = pd.concat(frames, ignore_index=True).merge(key, on="item", how="left")
    return joined


# ----------------------------------------------------------------------------- statistics


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two raters' labels of the same items: (p_o - p_e) / (1 - p_e); NaN when chance
    agreement is already 1 (both raters gave one and the same label to every item)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("two raters' labels of the same items, as two 1-d arrays of one length")
    categories = np.union1d(a, b)
    observed = float(np.mean(a == b))
    expected = float(sum(np.mean(a == c) * np.mean(b == c) for c in categories))
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(ratings) -> float:
    """Fleiss' kappa of ``ratings`` [items, raters] (every rater rates every item): (P - P_e) / (1 - P_e),
    with P the mean pairwise agreement per item and P_e the agreement of raters picking categories at their
    overall rates; NaN when P_e is 1."""
    ratings = np.asarray(ratings)
    if ratings.ndim != 2 or ratings.shape[1] < 2 or not len(ratings):
        raise ValueError("ratings must be [items, raters >= 2]")
    items, raters = ratings.shape
    counts = np.stack([(ratings == c).sum(axis=1) for c in np.unique(ratings)], axis=1)  # [items, categories]
    per_item = ((counts * (counts - 1)).sum(axis=1)) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / (items * raters)
    chance = float((shares**2).sum())
    return float("nan") if chance == 1 else (float(per_item.mean()) - chance) / (1 - chance)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (sensible at 0 and n, unlike the normal one)."""
    from scipy.stats import norm

    if n == 0:
        return float("nan"), float("nan")
    z = float(norm.ppf(0.5 + confidence / 2))
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def fisher_exact(table) -> tuple[float, float]:
    """Odds ratio and two-sided p-value of Fisher's exact test of a 2x2 table [[a, b], [c, d]]."""
    from scipy.stats import fisher_exact as scipy_fisher

    result = scipy_fisher(np.asarray(table, dtype=np.int64))
    return float(result.statistic), float(result.pvalue)


def fisher_power(
    share_pie: float,
    share_non_pie: float,
    n_per_group: int,
    alpha: float = 0.05,
    simulations: int = 2000,
    seed: int = 0,
) -> float:
    """How often Fisher's exact test (two-sided, at ``alpha``) tells two groups of ``n_per_group`` images apart
    when the property's true shares are ``share_pie`` and ``share_non_pie`` (by seeded simulation)."""
    rng = np.random.default_rng(seed)
    a = rng.binomial(n_per_group, share_pie, simulations)
    b = rng.binomial(n_per_group, share_non_pie, simulations)
    p_of = {}
    for pair in set(zip(a.tolist(), b.tolist())):
        p_of[pair] = fisher_exact([[pair[0], n_per_group - pair[0]], [pair[1], n_per_group - pair[1]]])[1]
    return float(np.mean([p_of[pair] <= alpha for pair in zip(a.tolist(), b.tolist())]))


def properties(joined: pd.DataFrame) -> pd.DataFrame:
    """Per image and property, whether it has the property: when more than half of its annotators' answers
    say so (with two annotators who disagree: not). One row per item: item, is_pie, then one 0/1 column per
    property."""
    rows = joined.groupby("item")
    out = pd.DataFrame({"is_pie": rows["is_pie"].first().astype(int)})
    for q in QUESTIONS:
        present = (joined[q.name] == q.present_when).groupby(joined["item"]).mean()
        out[q.prop] = (present > 0.5).astype(int)
    return out.reset_index()


def property_table(joined: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Figure 5's numbers: each property's share among PIEs and among non-PIEs, with Wilson intervals, the
    odds ratio and Fisher's exact two-sided p (and Holm's adjustment over the properties)."""
    per_item = properties(joined)
    pie = per_item["is_pie"] == 1
    rows = []
    for q in QUESTIONS:
        has = per_item[q.prop] == 1
        counts = {"pie": int((has & pie).sum()), "non_pie": int((has & ~pie).sum())}
        sizes = {"pie": int(pie.sum()), "non_pie": int((~pie).sum())}
        ratio, p = fisher_exact(
            [[counts["pie"], sizes["pie"] - counts["pie"]], [counts["non_pie"], sizes["non_pie"] - counts["non_pie"]]]
        )
        row = {"property": q.prop, "group": q.group, "question": q.name}
        for part in ("pie", "non_pie"):
            low, high = wilson_interval(counts[part], sizes[part], confidence)
            row |= {
                f"n_{part}": sizes[part],
                f"count_{part}": counts[part],
                f"share_{part}": counts[part] / sizes[part] if sizes[part] else float("nan"),
                f"low_{part}": low,
                f"high_{part}": high,
            }
        rows.append(row | {"odds_ratio": ratio, "p_fisher": p})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_fisher"].to_numpy())
    return table


def differ_sentence(table: pd.DataFrame, alpha: float = 0.05) -> str:
    """Which properties of ``property_table`` differ between PIEs and non-PIEs at Holm-adjusted ``alpha``, and
    in which direction, as a phrase for the prose."""
    found = table[table["p_holm"] < alpha]
    level = f"at the Holm-adjusted {100 * alpha:g}% level"
    if found.empty:
        return f"none of the {len(table)} properties differs between PIEs and non-PIEs {level}"
    parts = [
        f"{row.property} ({'more' if row.share_pie > row.share_non_pie else 'less'} common among PIEs)"
        for row in found.itertuples()
    ]
    verb = "differs" if len(found) == 1 else "differ"
    return f"{len(found)} of the {len(table)} properties {verb} between PIEs and non-PIEs {level}: {', '.join(parts)}"


def agreement(joined: pd.DataFrame) -> pd.DataFrame:
    """Per question: the annotators, the share of items all of them answered alike, Fleiss' kappa, and
    Cohen's kappa when there are exactly two (NaN for one annotator: nothing to agree with)."""
    annotators = sorted(joined["annotator"].unique())
    rows = []
    for q in QUESTIONS:
        ratings = joined.pivot(index="item", columns="annotator", values=q.name)[annotators].to_numpy()
        row = {"question": q.name, "property": q.prop, "annotators": len(annotators)}
        if len(annotators) < 2:
            rows.append(row | {"all_agree": float("nan"), "fleiss_kappa": float("nan"), "cohen_kappa": float("nan")})
            continue
        row["all_agree"] = float((ratings == ratings[:, :1]).all(axis=1).mean())
        row["fleiss_kappa"] = fleiss_kappa(ratings)
        row["cohen_kappa"] = cohen_kappa(ratings[:, 0], ratings[:, 1]) if len(annotators) == 2 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def questions_table() -> pd.DataFrame:
    """The sheet's questions and the property each one codes, for the chapter."""
    return pd.DataFrame(
        {
            "answers column": [q.name for q in QUESTIONS],
            "question on the sheet": [q.text for q in QUESTIONS],
            "property counted": [f"{q.prop} (answer {'yes' if q.present_when else 'no'})" for q in QUESTIONS],
        }
    )


def properties_view(table: pd.DataFrame) -> pd.DataFrame:
    """``property_table`` as the chapter shows it: counts, each share with its interval in one cell, p-values
    in two significant digits."""

    def share(part: str) -> pd.Series:
        return table.apply(
            lambda r: f"{r[f'share_{part}']:.3f} ({r[f'low_{part}']:.3f}-{r[f'high_{part}']:.3f})", axis=1
        )

    return pd.DataFrame(
        {
            "property": table["property"],
            "# PIE": table["count_pie"],
            "PIE share (95% interval)": share("pie"),
            "# non-PIE": table["count_non_pie"],
            "non-PIE share (95% interval)": share("non_pie"),
            "odds ratio": table["odds_ratio"],
            "p (Fisher)": table["p_fisher"].map(lambda p: f"{p:.2g}"),
            "p (Holm)": table["p_holm"].map(lambda p: f"{p:.2g}"),
        }
    )


# ----------------------------------------------------------------------------- example answers (not human)

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
    from .pie import modal_labels

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


# ----------------------------------------------------------------------------- from a stored population


def level_of(settings, sparsity: float | None) -> float:
    """The sparse level a sheet samples: ``sparsity`` when the population has it, its top level for None."""
    levels = [s for s in settings.population.levels if s > 0]
    if not levels:
        raise AnnotationError("the population has no sparse level: PIEs need a sparsity above 0")
    if sparsity is None:
        return max(levels)
    match = [s for s in levels if math.isclose(s, sparsity, abs_tol=1e-9)]
    if not match:
        raise AnnotationError(
            f"--sparsity {sparsity}: the population has the sparse levels {', '.join(map(str, levels))}; give one"
        )
    return match[0]


@dataclass(frozen=True)
class StoredLevel:
    """What a sheet of a stored population is drawn from."""

    name: str  # the population's name
    level: float
    is_pie: np.ndarray  # [N]: PIE_t between the dense reference and the level's models
    labels: np.ndarray
    close: np.ndarray  # [K, N]: dense models outside the reference (none of them chose the PIEs)
    class_names: tuple[str, ...]
    images: Callable[[np.ndarray], np.ndarray]


def stored_level(results_dir, settings, sparsity: float | None) -> StoredLevel:
    """PIE_t of a stored population at ``sparsity`` (its top level for None). Labels 2 and 3, and the example
    rule, use dense models that took no part in choosing PIE_t: the held-out ones, or where there are none,
    the dense models after the reference (they set noise floors only)."""
    from .analysis import load_population
    from .data import load_dataset
    from .pie import pie_mask

    level = level_of(settings, sparsity)
    population = load_population(results_dir, settings)
    close = population.held_out_dense
    if not len(close):
        close = population.top1[0.0][population.reference_size :]
    if not len(close):
        raise AnnotationError(
            "the sheet's labels 2 and 3 come from dense models outside the reference, and this population has "
            "none: train more dense models (--dense-population-size larger than the population size)"
        )
    return StoredLevel(
        settings.name,
        level,
        pie_mask(population.dense_reference, population.top1[level]),
        population.labels,
        close,
        population.class_names,
        load_dataset(settings.data).test_images,
    )


def population_sheet(results_dir, settings, sparsity: float | None, n: int, seed: int, out, key_out=None) -> Sheet:
    """``export_sheet`` for a stored population (see ``stored_level``)."""
    s = stored_level(results_dir, settings, sparsity)
    return export_sheet(out, s.name, s.level, s.is_pie, s.labels, s.close, s.class_names, s.images, n, seed, key_out)


@dataclass(frozen=True)
class Study:
    """The book's example study: the sheet, the machine answers' files, and the tables made from them."""

    sheet: Sheet
    answer_files: tuple[Path, ...]
    joined: pd.DataFrame
    properties: pd.DataFrame
    agreement: pd.DataFrame
    requested: int  # the sheet's size asked for, made even (the sheet has fewer when the level has too few PIEs)


def example_study(results_dir, settings, sparsity: float | None, n: int, seed: int) -> Study:
    """Export a sheet of a stored population into its ``annotation`` folder, answer it by ``EXAMPLE_RULE``
    with two machine annotators, and import the answers as a reader's would be (the same checks)."""
    s = stored_level(results_dir, settings, sparsity)
    most = 2 * min(int(s.is_pie.sum()), int((~s.is_pie).sum()))
    if most < 2:
        raise AnnotationError(f"at {store.format_level(s.level)} the population has no PIE or no non-PIE to sample")
    folder = store.annotation_dir(store.population_dir(results_dir, settings))
    requested = n - n % 2  # half PIEs: an odd size is rounded down
    size = min(requested, most)
    sheet = export_sheet(folder, s.name, s.level, s.is_pie, s.labels, s.close, s.class_names, s.images, size, seed)
    answers = example_answers(sheet.key_table, s.close, s.labels, s.images, s.class_names, seed=seed)
    files = []
    for table in answers:
        path = store.example_answers_file(folder, sheet.sheet_id, table["annotator"].iloc[0])
        store.atomic_write_bytes(path, table.to_csv(index=False).encode())
        files.append(path)
    joined = import_answers(files, sheet.key)
    return Study(sheet, tuple(files), joined, property_table(joined), agreement(joined), requested)
