"""The book: what its notebooks call (``chapter.open_chapter``, ``display``, ``plots``, ``prose``), the
notebook parameters (``parameters``), the book's file names (``paths``), the build that makes everything
and builds the HTML (``build``, ``notebooks``, ``build_record``), and the checks of the built book
(``hand_typed``, ``headless``).

A chapter begins with ``open_chapter(vars())``; ``glue`` and ``show_table`` are here too, as notebooks
have always imported them.
"""

from pruning_impact.book.chapter import Chapter, open_chapter
from pruning_impact.book.display import glue, show_table

__all__ = ["Chapter", "glue", "open_chapter", "show_table"]
