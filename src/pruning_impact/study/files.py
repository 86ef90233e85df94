"""The study stage's file names, in one place: the templates that ship with the package (the annotation
sheet, the exemplar browser's script and style sheet) and the files an exemplar browser is made of. The
sheets, keys and answers a study writes are named by the results store (``foundations.store``)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
SHEET_TEMPLATE = TEMPLATES / "annotation_sheet.html"
BROWSER_SCRIPT = "exemplar_browser.js"
BROWSER_STYLE = "exemplar_browser.css"
BROWSER_APP_FILES = (BROWSER_SCRIPT, BROWSER_STYLE)  # copied from the templates into every browser
BROWSER_DATA_FILE = "data.js"  # the browser's data, a plain script so that it also opens from file://
BROWSER_INDEX_FILE = "index.html"  # a page that opens the browser on its own


def sprite_file(class_index: int) -> str:
    """The sprite sheet of one class's test images."""
    return f"class-{class_index:04d}.png"
