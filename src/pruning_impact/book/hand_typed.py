"""Find results typed by hand in the built book.

The book promises that no result is typed by hand: every number and every result statement in its prose
is pasted from a notebook with myst-nb's ``{glue:text}`name:fmt``` role (a value, or a sentence chosen by
a computed outcome). This module checks that promise on the *built* HTML pages::

    .venv/bin/python -m pruning_impact.book.hand_typed _build/html

How the HTML is read (myst-nb 1.x, Sphinx 7, sphinx-book-theme):

- only the page's ``<article class="bd-article">`` is read (not the sidebars, header, footer, navigation);
- a glued value is ``<span class="pasted-text">702</span>`` (the ``{glue:text}`` role, also when glued
  from another page); ``{glue}`` / ``{glue:any}`` give ``pasted-inline`` or an ``output text_plain`` span,
  ``{glue:math}`` gives ``pasted-math``: all of them count as glued (``{glue:md}`` leaves no mark, so
  text pasted with it is scanned like prose);
- code cells and their outputs (``div.cell`` with ``div.cell_input`` and ``div.cell_output``, which hold
  the figures and tables a notebook shows, captions included), ``pre`` and inline ``code``, math
  (``span.math`` / ``div.math``, and ``\\(..\\)``, ``\\[..\\]``, ``$$..$$`` left in the text), citations
  (``span.bibtex-citation``, the bibliography's ``div.citation``), cross-references (``a.reference.internal``
  with ``span.std-numref`` such as "Fig. 3", ``span.std-ref``, ``span.doc``), footnotes, the numbers
  Sphinx writes before captions (``span.caption-number``) and the ``#`` permalinks are skipped;
- what remains is prose: paragraphs, list items, headings, admonitions, captions and tables written in
  Markdown, the text of external links. Each block is split into sentences and scanned.

A finding (``HandTypedClaim``) is

(a) a number: digits (``57``, ``57.3``, ``1,000``, ``90%``, ``97.5th``, ``-0.5``) or a number word (``ten``,
    ``twice``, see ``NUMBER_WORDS``), unless it is part of a name (``CIFAR-10``, ``top-1``, ``ResNet-50``)
    or an entry of ``ALLOWED_NUMBERS`` covers it (figure/table/section/equation numbers such as "the
    paper's Tables 2 and 3", the year of a citation typed as text, "(1)" enumerators, "Python 3.10");
(b) a result word of ``RESULT_WORDS`` ("grows", "fastest", "much worse", "hurts", "hard", "barely",
    "reproduced"...), except in a question, in an "Exercises" section, inside quotation marks or a
    blockquote, and in a sentence where the paper is the one reporting ("The paper found fewer ...").

Headings are scanned like sentences (a heading that is not a question is a claim). Facts quoted from the
paper are *not* allowed by hand, even with credit: ``pruning_impact.verdicts.paper`` holds them, so they can
be glued like the book's own numbers and a mistyped quote is caught the same way.

API: ``hand_typed_claims(html_dir) -> list[HandTypedClaim]`` for a built book, ``hand_typed_in_page(html,
page)`` for one page, ``main(html_dir)`` prints the findings (``page: word: snippet``) and returns their count.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from pruning_impact.book import paths

# --- what counts as a hand-typed claim -----------------------------------------------------------------

# A number: an optional sign, digits with thousands separators or a decimal part, an ordinal or "x"
# suffix, an optional percent sign. Digits glued to a preceding word (CIFAR-10, ResNet-50, WRN-28-10,
# top-1, L2) are names, not numbers.
NUMBER = re.compile(r"(?<![\w.,])(?<!\w-)[-+\u2212]?\d+(?:[.,]\d+)*(?:st|nd|rd|th|x|\u00d7)?(?:\s?%)?(?!\w)")

# Number words that state a quantity ("Fashion-MNIST has ten classes"). "one" and "two" are left out:
# they appear in every method description ("one dense and one pruned model", "two-sided test").
NUMBER_WORDS = (
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "fifty",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "dozen",
    "dozens",
    "tenths",  # "differ by a few tenths of a point"
    "hundredths",
    "twice",  # "twice as many dense models": a ratio of the population, which a parameter can change
)

# Words that state a result. Each entry is a regular expression (matched case-insensitively on whole
# words) with the reason it is on the list. The list aims at claims, not at method descriptions: bare
# "most" ("the most frequent label", "at most"), "significant" ("the number of significant classes" is
# the book's measure) and "more" are left out, only their claiming forms are in.
#
# A result word is not reported
# - in a question (a sentence or heading ending with "?"): it asks, it does not claim;
# - in an "Exercises" section (see EXERCISES_SECTION): exercises ask the reader to find results;
# - inside quotation marks or a <blockquote>: it is mentioned or quoted ("a verdict of “inconclusive”",
#   the name of one of the paper's findings: “PIEs are hard for all models”);
# - in a sentence whose subject is the paper reporting (see PAPER_REPORTS): "The paper found fewer
#   significant classes on CIFAR-10". Numbers in such a sentence are still reported: paper.py holds the
#   paper's numbers, so they can be glued.
RESULT_WORDS: tuple[tuple[str, str], ...] = (
    (r"(?:not )?reproduced|reproduces|replicated", "a verdict on a finding of the paper"),
    (r"inconclusive", "a verdict on a finding of the paper"),
    (r"confirm(?:s|ed)?|contradict(?:s|ed)?", "a verdict on a finding of the paper"),
    (
        r"significantly (?:more|less|fewer|worse|better|higher|lower|larger|smaller|above|below)"
        r"|(?:is|are|was|were|not|no|statistically) significant",
        "a statistical outcome",
    ),
    (
        r"(?:much|far|slightly|clearly) (?:more|less|fewer|worse|better|higher|lower|larger|smaller|above|below)",
        "an effect size",
    ),
    (r"hard(?:er|est)?|easy|easier|easiest", "a statement of difficulty ('PIEs are hard for every model')"),
    (r"better|worse|best|worst", "a comparison of quality"),
    (r"fast(?:er|est)|slow(?:er|est)", "a comparison of speed or rate"),
    (r"grows?|grew|shrinks?|shrank", "a trend"),
    (
        r"(?:more|less|most|least) (?:robust|fragile|brittle|affected|vulnerable|sensitive)",
        "a comparison of robustness",
    ),
    (r"hurts?|harms?|helps?", "an effect of pruning"),
    (r"fewer|fewest", "a count compared"),
    (
        r"a little|a lot|slightly|clearly|consistently|substantially|markedly|sharply|barely|negligibl[ey]",
        "an effect size",
    ),
    (r"disproportionate(?:ly)?", "an effect size"),
)

PAPER_REPORTS = re.compile(
    r"\b(?:the paper|Hooker et al\.?|the authors)\s+(?:\w+\s+)?"
    r"(?:reports?|reported|found|finds|claims?|claimed|shows?|showed|argues?|argued|observes?|observed|concludes?|concluded)\b",
    re.IGNORECASE,
)

# Hand-typed numbers that are legitimate. Each entry is a regular expression; a number inside one of
# its matches is not reported.
ALLOWED_NUMBERS: tuple[tuple[str, str], ...] = (
    # numbers of figures, tables, sections, equations, chapters and appendices, of this book or the paper
    (
        r"\b(?:Fig(?:ure)?s?\.?|Tables?|Sections?|§|Eqs?\.?|Equations?|Chapters?|Appendix|Appendices|Algorithms?)"
        r"\s*\(?\d+(?:\.\d+)*\)?(?:\s*(?:,|and|or|to|-|\u2013)\s*\(?\d+(?:\.\d+)*\)?)*",
        "a reference to a figure, table, section or equation",
    ),
    # the year of a citation typed as text: "Hooker et al. (2019)", "(Hooker et al., 2019)"
    (r"\bet al\.?,?\s*\(?(?:19|20)\d\d[a-z]?\)?", "the year of a citation"),
    # an enumerator typed in prose: "(1) ... (2) ..."
    (r"\(\d\)", "an enumerator of a list written inline"),
    # a version of a tool: "Python 3.10", "version 2", "v1.4"
    (r"\b(?:Python|version|v)\s?\d+(?:\.\d+)*", "the version of a tool"),
)

# Result words are not claims in an "Exercises" section (section id "exercises", "exercises-1"...):
# exercises ask the reader to find results. Numbers there are still reported (a sparsity typed in an
# exercise goes stale when the profile changes); numbers in inline code (`-p population_size 4`) are not.
EXERCISES_SECTION = re.compile(r"^exercises(?:-\d+)?$")

# --- what is skipped when reading a page -----------------------------------------------------------------

# Tags whose content is never prose.
SKIP_TAGS = frozenset({"script", "style", "pre", "code", "kbd", "samp", "nav", "header", "footer", "math", "svg"})
# Classes whose element (and everything inside it) is not scanned.
SKIP_CLASSES = frozenset(
    {
        "cell",  # a code cell: its source and outputs (figures and tables shown by a notebook, captions too)
        "cell_input",
        "cell_output",
        "output",  # an output pasted with {glue} (span.output.text_plain / text_html)
        "pasted-text",  # {glue:text}
        "pasted-inline",  # {glue} / {glue:any}
        "pasted-math",  # {glue:math}
        "math",  # span.math and div.math
        "highlight",
        "literal",
        "bibtex-citation",  # {cite}
        "citation",  # a bibliography entry
        "citation-list",
        "footnote",
        "footnote-list",
        "footnote-reference",
        "std-numref",  # {numref}: "Fig. 3", "Table 2" (also inside a.reference.internal, skipped anyway)
        "std-ref",  # {ref} and equation references
        "eqno",  # an equation's number
        "toctree-wrapper",
        "bd-sidebar-primary",
        "bd-sidebar-secondary",
        "prev-next-area",
        "prev-next-footer",
    }
)
# Classes whose text is a label, dropped from the snippet too.
DROP_CLASSES = frozenset({"headerlink", "caption-number"})  # the "#" permalink; "Fig. 3 " before a caption
# Elements that hold blocks of prose: a skipped one is dropped whole and breaks the sentence around it.
BLOCK_TAGS = frozenset(
    {
        "p",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tr",
        "td",
        "th",
        "caption",
        "figure",
        "figcaption",
        "blockquote",
        "details",
        "summary",
        "aside",
        "div",
        "section",
        "article",
        "main",
        "body",
        "pre",
        "nav",
        "header",
        "footer",
        "script",
        "style",
        "svg",
    }
)
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)

RAW_MATH = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]|\$\$.*?\$\$", re.S)
MASK = "\u25af"  # stands for skipped text (neither a word character nor a space): positions stay the same
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’")
# A period after these words does not end a sentence.
ABBREVIATIONS = frozenset({"fig", "figs", "eq", "eqs", "al", "e.g", "i.e", "cf", "vs", "etc", "approx", "no", "sec"})
BREAK = "\u2029"  # a paragraph separator: stands between two blocks
SENTENCE_END = re.compile(rf"[.!?]+[\"”’)]*\s+|{BREAK}+")


@dataclass(frozen=True)
class HandTypedClaim:
    """A number or result word typed by hand in the prose of a built page."""

    page: str  # the page's path relative to the HTML folder
    kind: str  # "number" or "word"
    text: str  # the offending number or word
    snippet: str  # the sentence around it

    def __str__(self) -> str:
        return f"{self.page}: {self.text}: {self.snippet}"


@dataclass
class _Block:
    """The text of one prose element: as shown, and with what is not scanned masked."""

    sections: tuple[str, ...]  # the ids of the sections it is in
    quoted: bool  # inside a <blockquote>
    shown: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)

    def add(self, shown: str, masked: str) -> None:
        self.shown.append(shown)
        self.masked.append(masked)


@dataclass
class _Element:
    tag: str
    skip: bool  # not scanned: its text is masked
    drop: bool  # not read at all
    block: _Block | None  # the block it opened, if any
    article: bool  # inside the page's article
    quoted: bool  # inside a <blockquote>
    section: str | None  # the id of a <section>


class _ProseParser(HTMLParser):
    """Collects the prose blocks of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Element] = []
        self.article_blocks: list[_Block] = []
        self.other_blocks: list[_Block] = []
        self.found_article = False

    def _block(self) -> _Block | None:
        return next((element.block for element in reversed(self.stack) if element.block), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            return
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        parent = self.stack[-1] if self.stack else None
        skip = (
            (parent is not None and parent.skip)
            or tag in SKIP_TAGS
            or bool(classes & SKIP_CLASSES)
            or (tag == "a" and {"reference", "internal"} <= classes)  # a cross-reference inside the book
        )
        drop = (parent is not None and parent.drop) or bool(classes & DROP_CLASSES) or (skip and tag in BLOCK_TAGS)
        if drop and not (parent and parent.drop) and tag in BLOCK_TAGS:
            self._break()
        article = (parent is not None and parent.article) or (tag == "article" and "bd-article" in classes)
        quoted = (parent is not None and parent.quoted) or tag == "blockquote"
        self.found_article = self.found_article or article
        section = attributes.get("id") if tag == "section" else None
        sections = tuple(element.section for element in self.stack if element.section) + ((section,) if section else ())
        block = _Block(sections, quoted) if tag in BLOCK_TAGS and not skip else None
        self.stack.append(_Element(tag, skip, drop, block, article, quoted, section))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <img/>, <br/>: no text

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS or not any(element.tag == tag for element in self.stack):
            return
        while self.stack:
            element = self.stack.pop()
            if element.block is not None:
                if "".join(element.block.shown).strip():
                    (self.article_blocks if element.article else self.other_blocks).append(element.block)
                self._break()
            if element.tag == tag:
                break

    def _break(self) -> None:
        """End the sentence of the enclosing block (a nested block or a dropped element came between)."""
        block = self._block()
        if block is not None:
            block.add(BREAK, BREAK)

    def handle_data(self, data: str) -> None:
        block = self._block()
        element = self.stack[-1] if self.stack else None
        if block is None or element is None or element.drop:
            return
        block.add(data, re.sub(r"\S", MASK, data) if element.skip else data)

    def prose(self) -> list[_Block]:
        """The blocks of the page's article; of the whole page if it has no ``article.bd-article``."""
        while self.stack:
            self.handle_endtag(self.stack[-1].tag)
        return self.article_blocks if self.found_article else self.other_blocks


def _alternatives(entries: tuple[tuple[str, str], ...]) -> str:
    return "|".join(f"(?:{pattern})" for pattern, _ in entries)


_ALLOWED = re.compile(_alternatives(ALLOWED_NUMBERS))
_WORDS = re.compile(rf"\b(?:{_alternatives(RESULT_WORDS)})\b", re.IGNORECASE)
_NUMBER_WORDS = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)


def _sentences(shown: str, masked: str) -> list[tuple[str, str]]:
    """Split a block into sentences, each as (shown, masked) text of the same length."""
    masked = RAW_MATH.sub(lambda m: re.sub(r"\S", MASK, m.group()), masked)
    pieces, start = [], 0
    for match in SENTENCE_END.finditer(masked):
        if BREAK not in match.group():
            word = re.split(r"[\s(\[]", masked[start : match.start()])[-1].lower()
            if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):  # "Fig. 3", "J. Smith"
                continue
        pieces.append((shown[start : match.end()], masked[start : match.end()]))
        start = match.end()
    pieces.append((shown[start:], masked[start:]))
    return [(s, m) for s, m in pieces if m.strip()]


def _snippet(shown: str, position: int, width: int = 100) -> str:
    """The sentence, or ``width`` characters either side of ``position`` in a long one."""
    start, end = max(0, position - width), min(len(shown), position + width)
    text = " ".join(shown[start:end].split())
    return ("..." if start > 0 else "") + text + ("..." if end < len(shown) else "")


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in spans)


def _scan_sentence(page: str, shown: str, masked: str, words: bool) -> list[HandTypedClaim]:
    found: list[tuple[int, str, str]] = []
    allowed = [m.span() for m in _ALLOWED.finditer(masked)]
    for pattern in (NUMBER, _NUMBER_WORDS):
        found += [(m.start(), "number", m.group()) for m in pattern.finditer(masked) if not _inside(m.span(), allowed)]
    if words and not shown.rstrip().endswith("?") and not PAPER_REPORTS.search(masked):
        quoted = [m.span() for m in QUOTED.finditer(masked)]
        found += [(m.start(), "word", m.group()) for m in _WORDS.finditer(masked) if not _inside(m.span(), quoted)]
    return [HandTypedClaim(page, kind, " ".join(text.split()), _snippet(shown, at)) for at, kind, text in sorted(found)]


def hand_typed_in_page(html: str, page: str = "") -> list[HandTypedClaim]:
    """The hand-typed numbers and result words in the prose of one HTML page."""
    parser = _ProseParser()
    parser.feed(html)
    parser.close()
    claims: list[HandTypedClaim] = []
    for block in parser.prose():
        exercise = any(EXERCISES_SECTION.match(section) for section in block.sections)
        for shown, masked in _sentences("".join(block.shown), "".join(block.masked)):
            claims.extend(_scan_sentence(page, shown, masked, words=not (exercise or block.quoted)))
    return claims


def chapter_pages(html_dir: str | Path) -> list[Path]:
    """The built pages of the book's chapters: every ``.html`` but Sphinx's index and search pages and
    the asset folders (``_static``, ``_sources``, ``_images``...)."""
    html_dir = Path(html_dir)
    return sorted(
        path
        for path in html_dir.rglob(paths.PAGE_PATTERN)
        if path.name not in paths.SPHINX_PAGES
        and not any(part.startswith("_") for part in path.relative_to(html_dir).parts)
    )


def hand_typed_claims(html_dir: str | Path) -> list[HandTypedClaim]:
    """Every number and result word typed by hand in the prose of the book built into ``html_dir``."""
    html_dir = Path(html_dir)
    if not html_dir.is_dir():
        raise FileNotFoundError(f"no built book in {html_dir}")
    claims = []
    for path in chapter_pages(html_dir):
        claims.extend(hand_typed_in_page(path.read_text(encoding="utf-8"), path.relative_to(html_dir).as_posix()))
    return claims


def main(html_dir: str | Path = paths.HTML_DIR) -> int:
    """Print the findings in ``html_dir`` one per line (``page: word: snippet``); return their count."""
    claims = hand_typed_claims(html_dir)
    for claim in claims:
        print(claim)
    print(f"{len(claims)} hand-typed claim(s) in {html_dir}", file=sys.stderr)
    return len(claims)


if __name__ == "__main__":
    sys.exit(1 if main(*sys.argv[1:2]) else 0)
