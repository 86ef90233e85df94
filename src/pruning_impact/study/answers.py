"""Annotators' answers read back: a sheet's key and the CSV files its page downloaded, joined, refusing
anything that does not fit the key (another sheet, missing items, invalid answers) with one message each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pruning_impact.foundations import store
from pruning_impact.foundations.errors import AnnotationError
from pruning_impact.study.sheet import ANSWER_COLUMNS, KEY_COLUMNS, KEY_HINT, QUESTION_NAMES


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
