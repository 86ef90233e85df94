"""The scanner for hand-typed results, on small pages shaped like the book's built HTML (myst-nb 1.x,
sphinx-book-theme): no book is built here."""

import pytest

from pruning_impact.book.hand_typed import HandTypedClaim, hand_typed_claims, hand_typed_in_page, main

# The frame of a built page: navigation, sidebar and footer around the article, all with numbers that are
# not prose of the chapter.
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8" /><title>Setup and top-line results &#8212; 2024</title>
<script>var DOCUMENTATION_OPTIONS = {{VERSION: "0.1.0"}};</script></head>
<body>
<header class="bd-header navbar"><div class="bd-header__inner">Version 0.1.0</div></header>
<div class="bd-container"><div class="bd-container__inner">
<div class="bd-sidebar-primary bd-sidebar"><nav class="bd-links"><ul>
<li class="toctree-l1"><a class="reference internal" href="01_setup.html">1. Setup (3 figures)</a></li>
</ul></nav></div>
<main id="main-content" class="bd-main" role="main"><div class="bd-content"><div class="bd-article-container">
<article class="bd-article">
<section class="tex2jax_ignore mathjax_ignore" id="setup-and-top-line-results">
<h1>Setup and top-line results<a class="headerlink" href="#setup-and-top-line-results" title="Link to this heading">#</a></h1>
{body}
</section>
<script type="text/x-thebe-config">{{ requestKernel: true, version: 3 }}</script>
</article>
</div></div></main>
<div class="bd-sidebar-secondary bd-toc"><nav class="page-toc"><ul><li>Take-aways (2)</li></ul></nav></div>
</div></div>
<footer class="bd-footer"><div class="footer-item"><p>&#169; Copyright 2024.</p></div></footer>
</body></html>
"""

# Prose as the book has it: glued values, a citation, cross-references, math, a code cell with its
# output (a figure whose caption a notebook wrote), allowed hand-typed numbers and an exercise.
CLEAN = """
<p>Every model is trained for <span class="pasted-text">702</span> steps on <span class="pasted-text">Fashion-MNIST</span>.
Pruning follows the cubic schedule of <span class="bibtex-citation" id="id1">Zhu and Gupta [<a class="reference internal"
href="references.html#id3" title="Michael Zhu and Suyog Gupta. To prune, or not to prune. arXiv:1710.01878, 2017.">2017</a>]</span>:
starting at step <span class="pasted-text">70</span>, every <span class="pasted-text">10</span> steps the weights are
masked (<a class="reference internal" href="#fig-schedule"><span class="std std-numref">Fig. 1</span></a>).</p>
<div class="cell tag_hide-input docutils container">
<details class="admonition hide above-input"><summary aria-label="Toggle hidden content">
<p class="collapsed admonition-title">Show code cell source</p></summary>
<div class="cell_input docutils container"><div class="highlight-ipython3 notranslate"><div class="highlight"><pre>
<span class="n">chapter</span><span class="o">.</span><span class="n">glue</span>(<span class="s2">"k"</span>, <span class="mi">10</span>)
</pre></div></div></div></details>
<div class="cell_output docutils container">
<figure class="align-default" id="fig-schedule">
<a class="reference internal image-reference" href="../_images/fig-schedule.png"><img alt="../_images/fig-schedule.png" src="../_images/fig-schedule.png" style="width: 100%;" /></a>
<figcaption><p><span class="caption-number">Fig. 1 </span><span class="caption-text">Scheduled sparsity; K = 10 models per sparse level, 20 dense models.</span>
<a class="headerlink" href="#fig-schedule" title="Link to this image">#</a></p></figcaption>
</figure>
<div class="output text_plain highlight-myst-ansi notranslate"><div class="highlight"><pre><span></span>0.9053</pre></div></div>
</div></div>
<section id="top-line-accuracy">
<h2>Top-line accuracy<a class="headerlink" href="#top-line-accuracy" title="Link to this heading">#</a></h2>
<p>The dense models reach <span class="pasted-text">90.53</span>% top-1 (± <span class="pasted-text">0.17</span>). At
<span class="pasted-text">90</span>% sparsity the mean is <span class="pasted-text">88.03</span>%, as the paper’s Figure 1
does; <a class="reference internal" href="#tab-toplines"><span class="std std-numref">Table 1</span></a> follows its Tables 2 and 3
and Section 3.3. The models reach top-5 on CIFAR-10 and ResNet-50 with Python 3.10 (Eq. 1, bars).</p>
<p>The population trains <span class="math notranslate nohighlight">\\(K\\)</span> models at each sparsity
<span class="math notranslate nohighlight">\\(t \\in \\{0, 0.1, 0.5, 0.9\\}\\)</span> at <span class="math notranslate nohighlight">\\(\\alpha = 0.05\\)</span>.</p>
<div class="math notranslate nohighlight">\\[ s = s_f + (s_i - s_f)(1 - p)^3 \\tag{1} \\]</div>
<p>Verdict: <span class="pasted-text">reproduced</span> (<span class="pasted-text">198 PIEs at t = 0.90, much worse</span>).</p>
</section>
<section id="exercises">
<h2>Exercises<a class="headerlink" href="#exercises" title="Link to this heading">#</a></h2>
<ol class="arabic simple">
<li><p>Predict how the standard deviations change with <code class="docutils literal notranslate"><span class="pre">-p</span>
<span class="pre">population_size</span> <span class="pre">4</span></code>, then check which classes are hurt most.</p></li>
<li><p>Does pruning make the models less robust?</p></li>
</ol>
</section>
"""


def page(body: str) -> str:
    return PAGE.format(body=body)


def found(body: str) -> list[tuple[str, str]]:
    return [(claim.kind, claim.text) for claim in hand_typed_in_page(page(body), "book/01_setup.html")]


def test_glued_prose_has_no_findings():
    assert hand_typed_in_page(page(CLEAN)) == []


def test_a_hand_typed_number_and_result_word_are_caught():
    body = CLEAN + "<p>On PIEs the dense models score 57.3% top-1, and pruning clearly hurts the rare classes.</p>"
    claims = hand_typed_in_page(page(body), "book/01_setup.html")
    assert [(claim.kind, claim.text) for claim in claims] == [
        ("number", "57.3%"),
        ("word", "clearly"),
        ("word", "hurts"),
    ]
    assert claims[0] == HandTypedClaim(
        "book/01_setup.html",
        "number",
        "57.3%",
        "On PIEs the dense models score 57.3% top-1, and pruning clearly hurts the rare classes.",
    )
    assert str(claims[2]).startswith("book/01_setup.html: hurts: On PIEs")


@pytest.mark.parametrize(
    "paragraph",
    [
        '<p>The dense models score <span class="pasted-text">57.3</span>% on PIEs.</p>',
        '<p>The mean is <span class="math notranslate nohighlight">\\(57.3\\)</span> at sparsity \\(t = 0.9\\).</p>',
        '<div class="cell docutils container"><div class="cell_output docutils container">'
        '<div class="output stream highlight-myst-ansi notranslate"><div class="highlight"><pre>top-1 57.3%</pre>'
        "</div></div></div></div>",
        '<p>See <a class="reference internal" href="#fig-pie"><span class="std std-numref">Fig. 3</span></a>'
        ' and <a class="reference internal" href="03_pie.html#tab-pie"><span class="std std-ref">Table 2</span></a>.</p>',
        '<p>As reported <span class="bibtex-citation" id="id2">[<a class="reference internal" href="references.html#id2"'
        ' title="Sara Hooker et al. Selective brain damage. arXiv:1911.05248, 2019.">Hooker <em>et al.</em>, 2019</a>]</span>.</p>',
        '<p>Run <code class="docutils literal notranslate"><span class="pre">--population-size 4</span></code>.</p>',
        '<div class="math notranslate nohighlight">\\[ K = 30 \\]</div>',
        '<p>A footnote<a class="footnote-reference brackets" href="#f1" id="id5" role="doc-noteref">'
        '<span class="fn-bracket">[</span>1<span class="fn-bracket">]</span></a>.</p>'
        '<aside class="footnote-list brackets"><aside class="footnote brackets" id="f1" role="doc-footnote">'
        "<p>Trained for 30 epochs.</p></aside></aside>",
    ],
    ids=["glued", "math", "cell-output", "figure-reference", "citation", "inline-code", "display-math", "footnote"],
)
def test_numbers_outside_prose_are_not_reported(paragraph):
    assert found(paragraph) == []


def test_the_frame_of_the_page_is_not_read():
    # navigation, sidebars, footer and scripts carry numbers; an empty article has no findings
    assert found("") == []


def test_number_words_ordinals_and_paper_facts_are_reported():
    body = (
        "<p>Fashion-MNIST has ten classes; the book trains twice as many dense models.</p>"
        "<p>The floor is the 97.5th percentile, and the paper’s 51 significant classes out of 1,000 are close to 50.</p>"
    )
    assert found(body) == [
        ("number", "ten"),
        ("number", "twice"),
        ("number", "97.5th"),
        ("number", "51"),
        ("number", "1,000"),
        ("number", "50"),
    ]


def test_allowed_numbers():
    body = (
        "<p>As in the paper’s Tables 2 and 3, Figures 2, 4, 6 and 10 and Section 3.3 (Eq. 1), top-1 and top-5 on"
        " CIFAR-10 and ImageNet-C with ResNet-50 and WRN-28-10 need Python 3.10; Hooker et al. (2019) ask (1) what"
        " and (2) why.</p>"
    )
    assert found(body) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>On this task the cost grows fastest at the highest sparsity.</p>", ["grows", "fastest"]),
        ("<p>The dense models do much worse on them.</p>", ["much worse"]),
        ("<h2>PIEs are hard for every model</h2>", ["hard"]),  # a heading is a claim
        ("<h2>Are PIEs hard for every model?</h2>", []),  # a question is not
        ("<p>Why might accuracy fall faster with sparsity?</p>", []),
        ("<p>A verdict of “inconclusive” is a result too.</p>", []),  # mentioned, not claimed
        ("<blockquote><div><p>Pruned models are more brittle.</p></div></blockquote>", []),  # quoted
        ("<p>The paper found fewer significant classes on CIFAR-10.</p>", []),  # the paper reports it
        ("<p>Pruned models are more brittle, as the paper’s Figure 7 shows.</p>", ["more brittle"]),
        ("<p>A count of significant classes needs its chance level.</p>", []),  # the book's measure
        ("<p>The label the models predict most often.</p>", []),  # method, not result
        (
            '<section id="exercises"><h2>Exercises</h2><ol><li><p>Find which corruption hurts most.</p></li></ol></section>',
            [],
        ),
    ],
)
def test_result_words(body, expected):
    assert [text for kind, text in found(body) if kind == "word"] == expected


def test_numbers_in_exercises_are_still_reported():
    body = '<section id="exercises"><h2>Exercises</h2><ol><li><p>Compare the top-1 at 90% sparsity.</p></li></ol></section>'
    assert found(body) == [("number", "90%")]


def test_a_page_without_the_theme_article_is_read_whole():
    html = "<html><body><p>Pruning hurts 12 classes.</p></body></html>"
    assert [(claim.kind, claim.text) for claim in hand_typed_in_page(html)] == [("word", "hurts"), ("number", "12")]


def test_the_book_is_scanned_page_by_page(tmp_path, capsys):
    html_dir = tmp_path / "_build" / "html"
    (html_dir / "book").mkdir(parents=True)
    (html_dir / "_static").mkdir()
    (html_dir / "book" / "01_setup.html").write_text(page(CLEAN), encoding="utf-8")
    (html_dir / "book" / "discussion.html").write_text(page("<p>Fashion-MNIST has ten classes.</p>"), encoding="utf-8")
    for skipped in ("genindex.html", "search.html", "_static/extra.html"):
        (html_dir / skipped).write_text(page("<p>Pruning hurts 12 classes.</p>"), encoding="utf-8")
    (html_dir / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')

    claims = hand_typed_claims(html_dir)
    assert claims == [HandTypedClaim("book/discussion.html", "number", "ten", "Fashion-MNIST has ten classes.")]
    assert main(html_dir) == 1
    assert capsys.readouterr().out == "book/discussion.html: ten: Fashion-MNIST has ten classes.\n"


def test_a_missing_book_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        hand_typed_claims(tmp_path / "nothing")
