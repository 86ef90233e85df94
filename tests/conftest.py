import pickle
from pathlib import Path

import numpy as np
import pytest

from pruning_impact import store
from pruning_impact.population import train_population
from pruning_impact.profiles import get_profile


@pytest.fixture(scope="session")
def smoke_settings():
    return get_profile("smoke")


@pytest.fixture(scope="session")
def smoke_population(tmp_path_factory, smoke_settings):
    """A smoke population trained once per test session: (results_dir, settings)."""
    results = tmp_path_factory.mktemp("results")
    train_population(smoke_settings, results, progress=False)
    return results, smoke_settings


@pytest.fixture(scope="session")
def smoke_book(smoke_population, tmp_path_factory):
    """The smoke book built once per session (the smoke population also stands in for the classroom one):
    (book_root, index page, results_dir, settings)."""
    from pruning_impact.book import build_book

    results, settings = smoke_population
    book_root = tmp_path_factory.mktemp("book")
    index = build_book(
        "smoke",
        root=Path(__file__).resolve().parents[1],
        book_root=book_root,
        results_dir=results,
        progress=False,
        calibration_simulations=2,
        classroom_profile="smoke",
    )
    return book_root, index, results, settings


@pytest.fixture
def make_cifar_folder():
    """Writes CIFAR-10 in torchvision's layout with ``n`` random images per batch; returns the batches' folder."""

    def make(root, n=8):
        folder = root / store.CIFAR10_FOLDER
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for name in (*store.CIFAR10_TRAIN_BATCHES, store.CIFAR10_TEST_BATCH):
            entry = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, n))}
            with open(folder / name, "wb") as f:
                pickle.dump(entry, f)
        return folder

    return make
