"""Fixtures shared by the tests, and the rules that keep them shared safely.

The smoke population is trained once per session (``trained_smoke``) and the smoke book built once
(``smoke_book``); no test gets a session folder to write in: ``smoke_population`` hands each test a private
copy of the trained population (a few milliseconds), and ``guard_shared_folders`` fails any test that
changes a session folder it was handed. Tests that use the smoke book are marked ``slow``.
"""

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from pruning_impact.foundations.profiles import get_profile
from pruning_impact.robustness.shifted_sets import cifar10_1_files, cifar10_c_files
from pruning_impact.training import datasets
from pruning_impact.training.population import train_population

REPOSITORY = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: its relative path, size and modification time."""
    found = {}
    for directory, _, files in os.walk(folder):
        for name in files:
            path = Path(directory) / name
            stat = path.stat()
            found[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """A test that uses the smoke book is slow (the book is built for it, a minute or more on 2 cores). With
    parallel workers (``pytest -n``, ``--dist loadgroup``), the tests of the smoke book run in one worker, which
    builds it once, and the Ray tests in one worker, which starts one cluster at a time."""
    for item in items:
        if "smoke_book" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("smoke-book"))
        elif item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="session")
def smoke_settings():
    return get_profile("smoke")


@pytest.fixture(scope="session")
def trained_smoke(tmp_path_factory, smoke_settings):
    """The smoke population trained once per session. Tests never get this folder, only copies of it."""
    results = tmp_path_factory.mktemp("trained-smoke")
    train_population(smoke_settings, results, progress=False)
    return results


@pytest.fixture(scope="session")
def smoke_copy(trained_smoke, tmp_path_factory):
    """Makes private copies of the session's smoke population: each call, a new results folder to write in."""

    def copy() -> Path:
        results = tmp_path_factory.mktemp("smoke") / "results"
        shutil.copytree(trained_smoke, results)
        return results

    return copy


@pytest.fixture
def smoke_population(smoke_copy, smoke_settings):
    """A private copy of the session's smoke population, for one test to read and write: (results_dir, settings)."""
    return smoke_copy(), smoke_settings


@pytest.fixture(scope="session")
def smoke_book(trained_smoke, tmp_path_factory):
    """The smoke book built once per session in folders of its own (the smoke population also stands in for
    the classroom one): (book_root, index page, results_dir, settings). Tests read it and never write to it."""
    from pruning_impact.book.build import build_book

    base = tmp_path_factory.mktemp("smoke-book")  # book, results and data side by side: a copy of it builds alike
    results, book_root = base / "results", base / "book"
    shutil.copytree(trained_smoke, results)
    index = build_book(
        "smoke",
        root=REPOSITORY,
        book_root=book_root,
        results_dir=results,
        progress=False,
        overrides={"data_dir": str(base / "data")},
        calibration_simulations=2,
        classroom_profile="smoke",
    )
    return book_root, index, results, get_profile("smoke")


@pytest.fixture
def smoke_book_results(smoke_book, tmp_path_factory):
    """A private copy of the smoke book's results folder (its population with every table, the methods' and
    the calibration's), for one test to read and write."""
    results = tmp_path_factory.mktemp("book-results") / "results"
    shutil.copytree(smoke_book[2], results)
    return results


@pytest.fixture(autouse=True)
def guard_shared_folders(request):
    """Fail a test that changed a session folder it was handed (the trained smoke population, the smoke book's
    folders)."""
    folders = []
    if "trained_smoke" in request.fixturenames:
        folders.append(request.getfixturevalue("trained_smoke"))
    if "smoke_book" in request.fixturenames:
        book_root, _, results, _ = request.getfixturevalue("smoke_book")
        folders += [book_root, results]
    before = [snapshot(folder) for folder in folders]
    yield
    changed = [str(folder) for folder, seen in zip(folders, before) if snapshot(folder) != seen]
    assert not changed, f"the test wrote into shared session folders {changed}: copy them first"


@pytest.fixture
def make_cifar_folder():
    """Writes CIFAR-10 in torchvision's layout with ``n`` random images per batch; returns the batches' folder."""

    def make(root, n=8):
        folder = root / datasets.CIFAR10_FOLDER
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for name in (*datasets.CIFAR10_TRAIN_BATCHES, datasets.CIFAR10_TEST_BATCH):
            entry = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, n))}
            with open(folder / name, "wb") as f:
                pickle.dump(entry, f)
        return folder

    return make


@pytest.fixture
def write_cifar10_c():
    """Writes one corruption of CIFAR-10-C (its five severities' images, and the labels) in the layout its
    loader reads (``shifted_sets.cifar10_c_files``)."""

    def write(root, corruption, images, labels):
        images_path, labels_path = cifar10_c_files(Path(root), corruption)
        images_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(images_path, images)
        np.save(labels_path, labels)

    return write


@pytest.fixture
def write_cifar10_1():
    """Writes CIFAR-10.1 (version v6) in the layout its loader reads (``shifted_sets.cifar10_1_files``)."""

    def write(root, images, labels):
        images_path, labels_path = cifar10_1_files(Path(root), "v6")
        images_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(images_path, images)
        np.save(labels_path, labels)

    return write
