"""How quickly the exemplar browser opens and filters: its files written for a population, then the page opened
in headless Chromium (until its first page of cards is drawn) and a few filters applied, each timed.

With a trained population (`make book`), the population's own test set and predictions; with `--synthetic N`,
N random 28x28 images and random predictions of K = 20 models at 5 sparse levels (the default population's
shapes), for machines without one. Prints the machine, the files' sizes and the times; the last line is
`load_seconds=...`.

python benchmarks/exemplar_browser.py [--profile fashion-mnist] [--results results] [--synthetic 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from pruning_impact.book.headless import Browser
from pruning_impact.foundations.machine import machine
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.study import exemplar_browser, files

READY = "document.getElementById('exemplar-browser-app').dataset.ready"


def synthetic(folder: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)

    def votes(k: int, agree: float) -> np.ndarray:
        return np.where(rng.random((k, n)) < agree, labels, rng.integers(0, 10, (k, n)))

    levels = {s: votes(20, 0.9 - s / 5) for s in (0.1, 0.3, 0.5, 0.7, 0.9)}
    names = tuple(f"class {c}" for c in range(10))
    return exemplar_browser.write_browser(
        folder / "synthetic", f"synthetic-{n}", labels, votes(20, 0.9), levels, names, lambda i: images[i]
    )


def timed_choice(browser: Browser, selector: str, value: str) -> float:
    browser.evaluate("document.getElementById('exemplar-browser-app').dataset.ready = ''")
    start = time.perf_counter()
    browser.select(selector, value)
    browser.wait_for(READY)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="fashion-mnist")
    parser.add_argument("--results", default="results")
    parser.add_argument("--synthetic", type=int, help="random data of this many images instead of a population")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if args.synthetic:
            folder = synthetic(Path(tmp), args.synthetic)
        else:
            folder = exemplar_browser.population_browser(Path(args.results), get_profile(args.profile), Path(tmp))
        written = time.perf_counter() - start
        data = (folder / files.BROWSER_DATA_FILE).stat().st_size / 1e6
        sprites = sum(p.stat().st_size for p in folder.glob("class-*.png")) / 1e6
        print(f"{folder.name}: files written in {written:.1f} s; data.js {data:.2f} MB, sprites {sprites:.2f} MB")
        with Browser() as browser:
            load = browser.open((folder / files.BROWSER_INDEX_FILE).as_uri(), READY)
            images = browser.evaluate("document.getElementById('exemplar-browser-app').dataset.matching")
            changes = {
                "PIEs only": timed_choice(browser, 'select[name="show"]', "pie"),
                "one class": timed_choice(browser, 'select[name="cls"]', "6"),
                "lowest sparsity": timed_choice(browser, 'select[name="level"]', "0"),
                "all images, test-set order": timed_choice(browser, 'select[name="show"]', "all")
                + timed_choice(browser, 'select[name="cls"]', "-1")
                + timed_choice(browser, 'select[name="sort"]', "index"),
            }
    print(f"page opened with {images} images and its first cards drawn in {load:.2f} s")
    for name, seconds in changes.items():
        print(f"  {name}: {1000 * seconds:.0f} ms")
    print(f"load_seconds={load:.2f}")


if __name__ == "__main__":
    main()
