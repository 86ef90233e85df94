"""The blinded annotation study: sampling, the sheet (no PIE label in it), the key, importing answers and
refusing what does not fit, and the statistics (kappa, Fisher, Wilson) against hand computations."""

import json
import math
import re
import time

import numpy as np
import pandas as pd
import pytest

from pruning_impact.analysis.predictions import load_population
from pruning_impact.book.headless import Browser, BrowserError, chromium, wait_for_download
from pruning_impact.cli import main
from pruning_impact.foundations.errors import AnnotationError
from pruning_impact.foundations.profiles import resolve_settings
from pruning_impact.study import agreement, machine_answers, stored_study
from pruning_impact.study.answers import import_answers, read_key
from pruning_impact.study.sheet import QUESTION_NAMES, close_labels, sample_items


def test_a_sample_is_balanced_shuffled_and_seeded():
    is_pie = np.zeros(1000, bool)
    is_pie[::7] = True
    chosen = sample_items(is_pie, 40, seed=3)
    assert len(set(chosen)) == 40 and is_pie[chosen].sum() == 20
    assert not is_pie[chosen[:20]].all()  # PIEs are not all first: shuffled together
    assert np.array_equal(chosen, sample_items(is_pie, 40, seed=3))
    assert not np.array_equal(chosen, sample_items(is_pie, 40, seed=4))
    with pytest.raises(AnnotationError, match="give --n 286 or less"):
        sample_items(is_pie, 400)
    with pytest.raises(AnnotationError, match="even number"):
        sample_items(is_pie, 41)
    with pytest.raises(AnnotationError, match="has 0 PIEs and 1000 non-PIEs: a balanced sheet needs both"):
        sample_items(np.zeros(1000, bool), 10)


def test_labels_2_and_3_are_the_classes_each_class_is_most_confused_with():
    labels = np.array([0, 0, 1, 2, 3])
    predictions = np.array([[0, 0, 1, 2, 3], [3, 2, 1, 2, 3], [3, 0, 1, 2, 3]])  # class 0: 3 twice, 2 once
    close = close_labels(predictions, labels, 4)
    assert close[0].tolist() == [3, 2]
    assert close[1].tolist() == [0, 2]  # never confused: the lowest other indices
    with pytest.raises(AnnotationError, match="at least 3 classes"):
        close_labels(predictions[:, :2] % 2, labels[:2] % 2, 2)


def strip_images(page: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)


def fill(key: pd.DataFrame, annotator: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    answers = pd.DataFrame(rng.integers(0, 2, (len(key), 6)), columns=list(QUESTION_NAMES))
    answers.insert(0, "item", key["item"].to_numpy())
    answers.insert(0, "annotator", annotator)
    answers.insert(0, "sheet_id", key["sheet_id"].iloc[0])
    return answers


def test_export_import_round_trip_and_the_page_has_no_pie_label(smoke_population, tmp_path):
    results, settings = smoke_population
    sheet = stored_study.population_sheet(results, settings, 0.9, 20, 0, tmp_path)
    page = sheet.page.read_text()
    text = strip_images(page)
    assert "pie" not in text.lower() and "is_pie" not in text and "sparsity" not in text.lower()
    data = json.loads(re.search(r'<script id="sheet-data" type="application/json">(.*?)</script>', page).group(1))
    assert data["sheet"] == sheet.sheet_id and len(data["items"]) == 20
    assert all(set(item) == {"item", "image", "width", "labels"} for item in data["items"])  # nothing else per image
    assert "http" not in text.replace("http-equiv", "")  # offline: no resource is fetched
    key = read_key(sheet.key)
    assert key["is_pie"].sum() == 10 and key["sheet_id"].iloc[0] == sheet.sheet_id
    # labels 2 and 3 belong to the class, not the image: they cannot tell PIEs apart
    assert (key.groupby("label")[["label_2", "label_3"]].nunique() == 1).all().all()
    assert [item["labels"][0] for item in data["items"]] == key["label_name"].tolist()
    for name, seed in (("anna", 1), ("ben", 2)):
        fill(key, name, seed).to_csv(tmp_path / f"{name}.csv", index=False)
    joined = import_answers([tmp_path / "anna.csv", tmp_path / "ben.csv"], sheet.key)
    assert len(joined) == 40 and set(joined["annotator"]) == {"anna", "ben"}
    by_item = joined.drop_duplicates("item").set_index("item")
    assert (by_item["is_pie"] == key.set_index("item")["is_pie"]).all()
    anna = joined[joined["annotator"] == "anna"].set_index("item")[list(QUESTION_NAMES)]
    assert (anna.to_numpy() == fill(key, "anna", 1)[list(QUESTION_NAMES)].to_numpy()).all()
    table = agreement.property_table(joined)
    assert (table["n_pie"] == 10).all() and (table["n_non_pie"] == 10).all()
    agree = agreement.agreement(joined)
    assert agree["cohen_kappa"].notna().any() and (agree["annotators"] == 2).all()


def broken(tmp_path, key, edit, name="broken.csv"):
    answers = fill(key, "anna", 1).astype(str)
    answers = edit(answers)
    path = tmp_path / name
    answers.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda a: a.assign(sheet_id="0123456789ab"), "answers sheet 0123456789ab, but the key is of sheet"),
        (lambda a: a.drop(columns=["typical"]), "lacks the column\\(s\\) typical"),
        (
            lambda a: a.assign(corrupted=["", *a["corrupted"][1:]]),
            "leaves 1 answer\\(s\\) empty \\(item 1: corrupted\\)",
        ),
        (lambda a: a.assign(abstract=["yes", *a["abstract"][1:]]), "item 1, question abstract has 'yes'"),
        (lambda a: a.iloc[1:], "lacks 1 of the sheet's 6 items \\(first: \\[1\\]\\)"),
        (lambda a: pd.concat([a, a.iloc[:1]]), "answers items \\[1\\] more than once"),
        (lambda a: a.assign(item=[*a["item"][:-1], "99"]), "items that the sheet does not have: 99"),
        (lambda a: a.assign(annotator=["anna", "ben", *a["annotator"][2:]]), "one annotator's answers"),
        (lambda a: a.assign(annotator=["", *a["annotator"][1:]]), "rows without an annotator name"),
        (lambda a: a.assign(sheet_id=["000123456789", "x", *a["sheet_id"][2:]]), "mixes answers of several sheets"),
    ],
)
def test_answers_that_do_not_fit_the_key_are_refused_with_one_message(tmp_path, edit, message):
    key = pd.DataFrame(
        {
            "sheet_id": "000123456789",  # all digits, leading zeros: read as text
            "item": range(1, 7),
            "example": range(10, 16),
            "label": 0,
            "label_name": "x",
            "label_2": "y",
            "label_3": "z",
            "is_pie": [1, 0, 1, 0, 1, 0],
            "sparsity": 0.9,
        }
    )
    key.to_csv(tmp_path / "key.csv", index=False)
    with pytest.raises(AnnotationError, match=message):
        import_answers([broken(tmp_path, key, edit)], tmp_path / "key.csv")


def test_two_files_by_one_annotator_and_a_wrong_key_are_refused(tmp_path):
    key = pd.DataFrame(
        {
            "sheet_id": "s",
            "item": [1, 2],
            "example": [0, 1],
            "label": 0,
            "label_name": "x",
            "label_2": "y",
            "label_3": "z",
            "is_pie": [1, 0],
            "sparsity": 0.5,
        }
    )
    key.to_csv(tmp_path / "key.csv", index=False)
    fill(key, "anna", 1).to_csv(tmp_path / "a.csv", index=False)
    fill(key, "anna", 2).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(AnnotationError, match="are both by annotator 'anna'"):
        import_answers([tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "key.csv")
    with pytest.raises(AnnotationError, match="is not the key of one annotation sheet"):
        import_answers([tmp_path / "a.csv"], tmp_path / "a.csv")


def test_cohen_and_fleiss_kappa_against_hand_computations():
    # 50 items, two raters: yes/yes 20, yes/no 5, no/yes 10, no/no 15
    a = np.array([1] * 25 + [0] * 25)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    # p_o = 35/50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5
    assert agreement.cohen_kappa(a, b) == pytest.approx(0.4)
    # Fleiss for two raters pools the rates (Scott's pi): p_yes = 55/100, p_e = 0.55^2 + 0.45^2 = 0.505
    assert agreement.fleiss_kappa(np.stack([a, b], axis=1)) == pytest.approx((0.7 - 0.505) / (1 - 0.505))
    # Fleiss (1971)'s worked example as tabulated on Wikipedia: 10 items, 14 raters, 5 categories
    counts = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    ratings = np.array([np.repeat(np.arange(5), row) for row in counts])
    p_items = ((counts * (counts - 1)).sum(axis=1) / (14 * 13)).mean()  # 0.378
    shares = counts.sum(axis=0) / 140
    expected = (p_items - (shares**2).sum()) / (1 - (shares**2).sum())
    assert expected == pytest.approx(0.210, abs=5e-4)
    assert agreement.fleiss_kappa(ratings) == pytest.approx(expected)
    assert math.isnan(agreement.cohen_kappa(np.ones(5), np.ones(5)))  # one answer everywhere: undefined


def hand_fisher(a, b, c, d):
    """Two-sided Fisher p by enumerating the hypergeometric tables with the same margins."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def prob(x):
        return math.comb(col1, x) * math.comb(n - col1, row1 - x) / math.comb(n, row1)

    observed = prob(a)
    low, high = max(0, row1 + col1 - n), min(row1, col1)
    return sum(prob(x) for x in range(low, high + 1) if prob(x) <= observed * (1 + 1e-7))


@pytest.mark.parametrize("table", [[[3, 1], [1, 3]], [[8, 2], [1, 5]], [[0, 10], [4, 6]], [[51, 49], [22, 78]]])
def test_fisher_exact_against_hand_enumeration(table):
    _, p = agreement.fisher_exact(table)
    assert p == pytest.approx(hand_fisher(*table[0], *table[1]), rel=1e-9)


def test_wilson_interval_by_hand():
    z = 1.959963984540054
    for k, n in ((0, 10), (3, 10), (100, 200)):
        share = k / n
        centre = (share + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
        assert agreement.wilson_interval(k, n) == pytest.approx((max(0, centre - half), centre + half))


def simulated_study(rng, share_pie, share_non_pie, n=100, annotators=2, agree=0.9):
    """Answers of ``annotators`` to n PIEs and n non-PIEs whose property 'image corruption' has the given
    true shares; each annotator reports the truth with probability ``agree``; other questions at random."""
    truth = np.concatenate([rng.random(n) < share_pie, rng.random(n) < share_non_pie]).astype(int)
    frames = []
    for a in range(annotators):
        answers = {q: rng.integers(0, 2, 2 * n) for q in QUESTION_NAMES}
        answers["corrupted"] = np.where(rng.random(2 * n) < agree, truth, 1 - truth)
        frames.append(pd.DataFrame({"annotator": f"a{a}", "item": np.arange(1, 2 * n + 1), **answers}))
    joined = pd.concat(frames, ignore_index=True)
    return joined.assign(is_pie=np.tile(np.r_[np.ones(n, int), np.zeros(n, int)], annotators))


def test_the_differ_rule_is_calibrated_on_studies_with_no_effect_and_a_planted_one():
    """Holm-adjusted Fisher p < 0.05 on 'image corruption': rarely with equal shares, nearly always with a
    planted difference (0.4 against 0.1) at the paper's sample size (100 of each kind, two annotators)."""
    rng = np.random.default_rng(0)

    def found(share_pie, share_non_pie):
        table = agreement.property_table(simulated_study(rng, share_pie, share_non_pie)).set_index("property")
        return table.loc["image corruption", "p_holm"] < 0.05

    null = np.mean([found(0.2, 0.2) for _ in range(100)])
    planted = np.mean([found(0.4, 0.1) for _ in range(100)])
    assert null <= 0.05 and planted >= 0.9, (null, planted)


def test_majority_rule_two_annotators_who_disagree_count_absent():
    joined = pd.DataFrame(
        {"annotator": ["a", "b", "a", "b"], "item": [1, 1, 2, 2], "is_pie": [1, 1, 0, 0]}
        | {q: [0, 0, 0, 0] for q in QUESTION_NAMES}
    ).assign(corrupted=[1, 0, 1, 1])
    per_item = agreement.properties(joined).set_index("item")
    assert per_item.loc[1, "image corruption"] == 0 and per_item.loc[2, "image corruption"] == 1
    assert per_item.loc[1, "incorrect or insufficient label"] == 1  # label_correct answered 0 by both


def test_labels_2_and_3_come_from_dense_models_that_did_not_choose_the_pies(smoke_population):
    results, settings = smoke_population
    population = load_population(results, settings)
    level = stored_study.stored_level(results, settings, None)
    assert np.array_equal(level.close, population.held_out_dense)
    two_k = resolve_settings("smoke", dense_population_size=6)  # no held-out models: the floor partners
    level = stored_study.stored_level(results, two_k, None)
    assert np.array_equal(level.close, population.top1[0.0][3:6])
    with pytest.raises(AnnotationError, match="dense models outside the reference"):
        stored_study.stored_level(results, resolve_settings("smoke", dense_population_size=3), None)


def test_example_answers_never_read_the_pie_label(smoke_population):
    results, settings = smoke_population
    level = stored_study.stored_level(results, settings, None)
    chosen = sample_items(level.is_pie, 20, 0)
    key = pd.DataFrame(
        {
            "sheet_id": "s",
            "item": np.arange(1, 21),
            "example": chosen,
            "label": level.labels[chosen],
            "label_name": [level.class_names[i] for i in level.labels[chosen]],
            "label_2": [level.class_names[(i + 1) % 10] for i in level.labels[chosen]],
            "label_3": "x",
            "is_pie": level.is_pie[chosen].astype(int),
            "sparsity": level.level,
        }
    )
    args = (level.close, level.labels, level.images, level.class_names)
    first = machine_answers.example_answers(key, *args)
    flipped = machine_answers.example_answers(key.assign(is_pie=1 - key["is_pie"]), *args)
    assert len(first) == 2 and all(a.equals(b) for a, b in zip(first, flipped))
    assert not first[0].equals(first[1])  # the two machine annotators disagree somewhere


def test_the_command_line_exports_and_imports(smoke_population, tmp_path, capsys):
    results, _ = smoke_population
    out, keys = tmp_path / "study", tmp_path / "keys"
    export = f"annotate export --profile smoke --results {results} --out {out}".split()
    assert main([*export, "--n", "8", "--seed", "1", "--key-out", str(keys)]) == 0
    printed = capsys.readouterr().out
    key_path = next(keys.glob("key-*.csv"))  # the key went to its own folder, away from the sheet
    assert not list(out.glob("key-*")) and len(list(out.glob("sheet-*.html"))) == 1
    assert key_path.name in printed and "4 PIEs and 4 non-PIEs at 90%" in printed
    key = read_key(key_path)
    fill(key, "anna", 1).to_csv(tmp_path / "anna.csv", index=False)
    assert main(f"annotate import {tmp_path / 'anna.csv'} --key {key_path} --out {tmp_path / 't'}".split()) == 0
    assert "image corruption" in capsys.readouterr().out and (tmp_path / "t" / "properties.csv").is_file()
    fill(key, "ben", 2).assign(typical="").to_csv(tmp_path / "ben.csv", index=False)
    assert main(f"annotate import {tmp_path / 'ben.csv'} --key {key_path}".split()) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "leaves 8 answer(s) empty" in error and "Traceback" not in error
    assert main([*export, "--sparsity", "0.3"]) == 2
    assert "the population has the sparse levels" in capsys.readouterr().err
    assert main([*export, "--population-seed", "99"]) == 2  # no population trained with that seed
    assert "smoke" in capsys.readouterr().err


def status_becomes(browser: Browser, text: str) -> bool:
    """True once the sheet's status line reads ``text`` (the page updates it after loading and typing); a
    status that never does fails with the browser's message after the deadline, which only bounds a hang."""
    status = "document.getElementById('status').textContent"
    try:
        return bool(browser.wait_for(f"{status} === {json.dumps(text)}", 30))
    except BrowserError:
        raise AssertionError(f"the status reads {browser.evaluate(status)!r}, not {text!r}") from None


def reloaded_shows(browser: Browser, url: str, loaded: str, text: str, timeout: float = 30) -> bool:
    """True once a fresh load of ``url`` shows the status ``text``; each load waits for a new page (the old
    one is marked), and the deadline only bounds a hang."""
    status = "document.getElementById('status').textContent"
    deadline = time.monotonic() + timeout
    while True:
        browser.evaluate("window.beforeReload = true")
        browser.open(url, f"!window.beforeReload && {loaded}")
        shown = browser.evaluate(status)
        if shown == text:
            return True
        if time.monotonic() > deadline:
            raise AssertionError(f"after reloading for {timeout} s the status reads {shown!r}, not {text!r}")


@pytest.mark.browser
@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (make test installs it)")
def test_a_reader_fills_the_sheet_in_chromium_downloads_and_imports(smoke_population, tmp_path):
    results, settings = smoke_population
    sheet = stored_study.population_sheet(results, settings, None, 4, 0, tmp_path / "sheet")
    downloads = tmp_path / "downloads"
    loaded = "document.querySelectorAll('.item').length === 4"
    with Browser(downloads=downloads) as browser:
        browser.open(sheet.page.as_uri(), loaded)
        assert browser.evaluate("document.querySelector('input[type=radio]').disabled")  # a name comes first
        browser.type("#annotator", 'O\'Neil, "Jo"')
        clicked = {}
        for item in range(1, 5):
            for number, question in enumerate(QUESTION_NAMES):
                if item == 4 and number >= 3:
                    continue  # the reader stops half-way through the last image
                value = (item + number) % 2
                browser.click(f'input[name="q-{item}-{question}"][value="{value}"]')
                clicked[item, question] = value
        assert status_becomes(browser, "21 of 24 answers given")
        # a reload keeps the progress (once the browser has stored it: a reload milliseconds after the last
        # click can come first, so the page is reloaded until it shows the progress, within a deadline)
        assert reloaded_shows(browser, sheet.page.as_uri(), loaded, "21 of 24 answers given")
        # someone else on this browser starts afresh, and the first reader's answers come back with the name
        browser.evaluate("document.getElementById('annotator').value = ''")
        browser.type("#annotator", "ben")
        assert status_becomes(browser, "0 of 24 answers given")
        assert "O'Neil" in browser.evaluate("document.getElementById('others').textContent")
        browser.evaluate("document.getElementById('annotator').value = ''")
        browser.type("#annotator", 'O\'Neil, "Jo"')
        assert status_becomes(browser, "21 of 24 answers given")
        browser.click("#download")
        partial = wait_for_download(downloads)
        with pytest.raises(AnnotationError, match="leaves 3 answer\\(s\\) empty \\(item 4: typical"):
            import_answers([partial], sheet.key)
        partial.unlink()
        for question in QUESTION_NAMES[3:]:
            browser.click(f'input[name="q-4-{question}"][value="1"]')
            clicked[4, question] = 1
        browser.click("#download")
        complete = wait_for_download(downloads)
    joined = import_answers([complete], sheet.key)
    assert set(joined["annotator"]) == {'O\'Neil, "Jo"'}  # quoted in the CSV, read back whole
    got = {(r.item, q): getattr(r, q) for r in joined.itertuples() for q in QUESTION_NAMES}
    assert got == clicked


def test_the_book_chapter_links_a_blank_sheet_and_says_its_data_are_not_human(smoke_book):
    book_root, _, results, settings = smoke_book
    page = (book_root / "_build" / "html" / "book" / "08_human_study.html").read_text()
    assert "not human data" in page
    link = re.search(r'href="(\.\./_downloads/[^"]+/sheet-([0-9a-f]{12})\.html)"', page)
    assert link, "no download link to the blank sheet"
    sheet = (book_root / "_build" / "html" / "book" / link.group(1)).resolve()
    assert sheet.is_file() and "pie" not in strip_images(sheet.read_text()).lower()
    from pruning_impact.foundations import store

    folder = store.annotation_dir(store.population_dir(results, settings))
    assert (folder / f"key-{link.group(2)}.csv").is_file()  # the key stays in the results, out of the book
    assert len(list(folder.glob(f"example-answers-{link.group(2)}-*.csv"))) == 2
