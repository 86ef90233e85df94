"""The exemplar browser: its data against the PIE and taxicab definitions, its sprites, and the page in
headless Chromium (filters change what is shown)."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from pruning_impact.analysis.disparity import taxicab_scores
from pruning_impact.analysis.pie import pie_mask
from pruning_impact.analysis.predictions import load_population
from pruning_impact.book.headless import Browser, chromium
from pruning_impact.study import exemplar_browser, files


def test_label_distributions_by_hand():
    predictions = np.array([[6, 1, 2], [0, 1, 3], [6, 1, 2], [0, 1, 2]])
    assert exemplar_browser.distribution_text(predictions) == ["0:2 6:2", "1:4", "2:3 3:1"]


def write(smoke_population, tmp_path):
    results, settings = smoke_population
    folder = exemplar_browser.population_browser(results, settings, tmp_path)
    text = (folder / files.BROWSER_DATA_FILE).read_text()
    data = json.loads(text.removeprefix("window.exemplarBrowserData = ").rstrip().rstrip(";"))
    return folder, data, load_population(results, settings)


def test_the_data_match_the_pie_and_taxicab_definitions(smoke_population, tmp_path):
    folder, data, population = write(smoke_population, tmp_path)
    assert data["labels"] == population.labels.tolist() and data["kDense"] == population.reference_size
    assert [level["sparsity"] for level in data["levels"]] == population.sparse_levels
    for level in data["levels"]:
        sparse = population.top1[level["sparsity"]]
        expected = pie_mask(population.dense_reference, sparse)
        assert [c == "1" for c in level["pie"]] == expected.tolist()
        scores = taxicab_scores(population.dense_reference, sparse, population.num_classes)
        assert np.allclose(level["score"], scores, atol=5e-4)
        assert level["sparse"] == exemplar_browser.distribution_text(sparse)
    assert {p.name for p in folder.iterdir()} >= {"index.html", "exemplar_browser.js", "exemplar_browser.css"}


def test_each_sprite_holds_its_class_images_in_test_order(smoke_population, tmp_path):
    folder, data, population = write(smoke_population, tmp_path)
    from pruning_impact.training.datasets import load_dataset

    images = load_dataset(population.settings.data).test_images
    h, w, columns = data["sprites"]["height"], data["sprites"]["width"], data["sprites"]["columns"]
    for c in (0, 7):
        members = np.flatnonzero(population.labels == c)
        sheet = np.asarray(Image.open(folder / data["sprites"]["files"][c]))
        for place in (0, len(members) - 1):
            row, col = divmod(place, columns)
            assert np.array_equal(sheet[row * h : (row + 1) * h, col * w : (col + 1) * w], images([members[place]])[0])


def test_large_images_are_shrunk_to_thumbnails():
    big = np.random.default_rng(0).integers(0, 255, (2, 224, 160, 3), dtype=np.uint8)
    assert exemplar_browser.thumbnails(big).shape == (2, 64, 45, 3)


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (make test installs it)")
def test_the_browser_opens_in_chromium_and_filters_change_what_is_shown(smoke_population, tmp_path):
    folder, data, population = write(smoke_population, tmp_path)
    top = data["levels"][-1]
    n_pie = top["pie"].count("1")
    shown = "[...document.querySelectorAll('#exemplar-browser-app .eb-card')]"
    with Browser() as browser:
        browser.open((folder / "index.html").as_uri(), "document.getElementById('exemplar-browser-app').dataset.ready")
        matching = "+document.getElementById('exemplar-browser-app').dataset.matching"
        assert browser.evaluate(matching) == len(data["labels"])
        scores = browser.evaluate(f"{shown}.map(c => +c.dataset.example)")
        assert len(scores) == min(exemplar_browser.PER_PAGE, len(data["labels"]))
        ordered = [top["score"][i] for i in scores]
        assert ordered == sorted(ordered, reverse=True)  # highest exemplar score first
        browser.click('button[data-control="next"]')
        second = browser.evaluate(f"{shown}.map(c => +c.dataset.example)")
        assert second and not set(second) & set(scores)  # the next page shows other images
        assert min(top["score"][i] for i in scores) >= max(top["score"][i] for i in second)
        browser.select('select[name="sort"]', "score-asc")
        ascending = [top["score"][i] for i in browser.evaluate(f"{shown}.map(c => +c.dataset.example)")]
        assert ascending == sorted(ascending) and ascending[0] == min(top["score"])
        browser.select('select[name="show"]', "pie")
        assert browser.evaluate(matching) == n_pie
        assert set(browser.evaluate(f"{shown}.map(c => c.dataset.pie)")) == {"1"}
        browser.select('select[name="cls"]', "3")
        expected = sum(1 for i, p in enumerate(top["pie"]) if p == "1" and data["labels"][i] == 3)
        assert browser.evaluate(matching) == expected
        examples = browser.evaluate(f"{shown}.map(c => +c.dataset.example)")
        assert all(data["labels"][i] == 3 and top["pie"][i] == "1" for i in examples)
        browser.select('select[name="level"]', "0")
        low = data["levels"][0]
        expected = sum(1 for i, p in enumerate(low["pie"]) if p == "1" and data["labels"][i] == 3)
        assert browser.evaluate(matching) == expected
        summary = browser.evaluate("document.querySelector('.eb-summary').textContent")
        assert re.match(rf"{expected} of {len(data['labels'])} test images match", summary)
        # a thumbnail's sprite sheet is where the card says: the browser loads it as an image
        width = browser.evaluate(
            "new Promise(done => { const url = getComputedStyle(document.querySelector('.eb-thumb')).backgroundImage"
            ".slice(5, -2); const image = new Image(); image.onload = () => done(image.naturalWidth);"
            " image.onerror = () => done(0); image.src = url; })"
        )
        assert width == data["sprites"]["columns"] * data["sprites"]["width"]


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (make test installs it)")
def test_the_book_page_holds_a_working_browser(smoke_book):
    book_root, _, results, settings = smoke_book
    html_dir = book_root / "_build" / "html"
    page = html_dir / "book" / "09_exemplar_browser.html"
    assert 'id="exemplar-browser-app"' in page.read_text()
    data = list((html_dir / "_static" / "exemplars").glob("*/data.js"))
    assert len(data) == 1 and (data[0].parent / "class-0000.png").is_file()
    with Browser() as browser:
        browser.open(page.as_uri(), "document.getElementById('exemplar-browser-app').dataset.ready")
        assert browser.evaluate("+document.getElementById('exemplar-browser-app').dataset.matching") == len(
            load_population(results, settings).labels
        )
        assert browser.evaluate("document.querySelectorAll('#exemplar-browser-app .eb-card').length") > 0
        # the page's own title and prose are still there (the browser drew inside its own element only)
        assert browser.evaluate("document.querySelector('article h1').textContent").startswith("Exemplar browser")
        assert "taxicab distance" in browser.evaluate("document.querySelector('article').textContent")
        # its style sheet applies: cards are laid out in a grid
        assert browser.evaluate("getComputedStyle(document.querySelector('.eb-grid')).display") == "grid"


def test_an_earlier_browser_in_the_static_folder_is_removed(smoke_population, tmp_path):
    stale = tmp_path / "another-population-0123abcd"
    stale.mkdir()
    (stale / files.BROWSER_DATA_FILE).write_text("window.exemplarBrowserData = {};")
    (tmp_path / "unrelated").mkdir()  # not a browser: kept
    folder, _, _ = write(smoke_population, tmp_path)
    assert not stale.exists() and (tmp_path / "unrelated").is_dir() and (folder / files.BROWSER_DATA_FILE).is_file()
