"""How a chapter shows results: tables as numbered MyST pipe tables (sparsities as percentages, missing
values as '-') and numbers glued for the prose with myst-nb, so no number in the text is typed by hand."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pruning_impact.foundations.levels import format_percent

SPARSITY_COLUMNS = ("t", "sparsity", "sparsity t", "PIE_t identified at t")  # shown as percentages


def markdown_table(table: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table; floats rounded to ``digits``, sparsities as percentages (10%), missing values as '-'."""

    def cell(value: Any, column: str) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            return "-"
        if column in SPARSITY_COLUMNS and isinstance(value, (float, int)):
            return format_percent(value)
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value).replace("|", "/")

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = [
        "| " + " | ".join(cell(v, c) for v, c in zip(row, table.columns)) + " |"
        for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def glue(name: str, value: Any) -> None:
    """Glue a number or text for the prose ({glue:text}`name`); numpy scalars become Python ones."""
    from myst_nb import glue as myst_glue

    myst_glue(name, value.item() if hasattr(value, "item") else value, display=False)


def show_table(table: pd.DataFrame, name: str, caption: str, digits: int = 4) -> None:
    """Display ``table`` as a numbered MyST table labelled ``name``."""
    from IPython.display import Markdown, display

    display(Markdown(f":::{{table}} {caption}\n:name: {name}\n\n{markdown_table(table, digits)}\n:::\n"))


def show_folded_table(table: pd.DataFrame, name: str, caption: str, title: str, digits: int = 4) -> None:
    """``show_table`` folded behind a dropdown titled ``title`` (for evidence a reader opens on demand)."""
    from IPython.display import Markdown, display

    table_block = f":::{{table}} {caption}\n:name: {name}\n\n{markdown_table(table, digits)}\n:::\n"
    display(Markdown(f"::::{{dropdown}} {title}\n{table_block}::::\n"))
