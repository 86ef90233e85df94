"""Published corrupted sets (CIFAR-10-C, ImageNet-C): which corruptions they add (snow, frost), and that only
the subsample's images are read from them."""

import pickle

import numpy as np
import pytest
import torch

from pruning_impact.foundations.errors import DataError, SettingsError
from pruning_impact.foundations.options import (
    CORRUPTIONS,
    KNOWN_CORRUPTIONS,
    PUBLISHED_ONLY_CORRUPTIONS,
    RobustnessOptions,
)
from pruning_impact.foundations.settings import DataSettings
from pruning_impact.robustness.shifted_sets import (
    _cifar10_c_arrays,
    _decode_image,
    _list_folder,
    available_corruptions,
    cifar10_c_files,
    corrupted_sets,
    corruption_sources,
    imagenet_c_folder,
    load_cifar10_c,
    load_imagenet_c,
    published_sets_dir,
    subsample_indices,
)
from pruning_impact.training import datasets
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.images import InMemoryImages

CLASSES = ("n01", "n02", "n03")


# ----------------------------------------------------------------------------- snow and frost


def test_snow_and_frost_are_known_but_not_in_the_default():
    assert PUBLISHED_ONLY_CORRUPTIONS == ("snow", "frost")
    assert RobustnessOptions().corruptions == CORRUPTIONS
    assert not set(PUBLISHED_ONLY_CORRUPTIONS) & set(CORRUPTIONS)  # CORRUPTIONS' order seeds the generator
    assert RobustnessOptions(corruptions=("snow", "fog")).corruptions == ("snow", "fog")
    assert set(KNOWN_CORRUPTIONS) == set(CORRUPTIONS) | {"snow", "frost"}
    with pytest.raises(SettingsError, match="unknown corruption 'rain'"):
        RobustnessOptions(corruptions=("rain",))


def test_the_default_options_work_offline(tmp_path):
    for dataset in ("cifar10", "imagenet", "fashion-mnist", "synthetic"):
        data = DataSettings(dataset=dataset, data_dir=str(tmp_path))
        assert available_corruptions(data, RobustnessOptions()) == CORRUPTIONS
        assert set(corruption_sources(data, RobustnessOptions()).values()) == {"generated"}


def test_asking_for_snow_without_a_published_set_says_what_to_do(tmp_path):
    cifar = DataSettings(dataset="cifar10", data_dir=str(tmp_path))
    with pytest.raises(DataError, match=r"snow and frost cannot be generated.*CIFAR-10-C.*<corruption>\.npy"):
        available_corruptions(cifar, RobustnessOptions(corruptions=("fog", "snow", "frost")))
    imagenet = DataSettings(dataset="imagenet", data_dir=str(tmp_path))
    with pytest.raises(DataError, match=r"frost cannot be generated.*imagenet-c.*<severity>/<wnid>"):
        corruption_sources(imagenet, RobustnessOptions(corruptions=("frost",)))
    fashion = DataSettings(dataset="fashion-mnist", data_dir=str(tmp_path))
    with pytest.raises(SettingsError, match="fashion-mnist has none.*leave snow out"):
        available_corruptions(fashion, RobustnessOptions(corruptions=("snow",)))


def test_the_default_list_gains_snow_and_frost_where_a_published_set_holds_them(tmp_path):
    cifar = DataSettings(dataset="cifar10", data_dir=str(tmp_path))
    published_sets_dir(cifar).mkdir()  # where the evaluation looks for CIFAR-10-C
    np.save(cifar10_c_files(published_sets_dir(cifar), "snow")[0], np.zeros((5, 32, 32, 3), np.uint8))
    assert available_corruptions(cifar, RobustnessOptions()) == CORRUPTIONS + ("snow",)
    sources = corruption_sources(cifar, RobustnessOptions())
    assert sources["snow"] == "CIFAR-10-C" and sources["fog"] == "generated"
    # a list chosen by the user is kept as it is
    assert available_corruptions(cifar, RobustnessOptions(corruptions=("fog",))) == ("fog",)
    assert corruption_sources(cifar, RobustnessOptions(corruptions=("snow", "fog"))) == {
        "snow": "CIFAR-10-C",
        "fog": "generated",
    }

    imagenet = DataSettings(dataset="imagenet", data_dir=str(tmp_path))
    for severity in (1, 2):
        imagenet_c_folder(published_sets_dir(imagenet), "frost", severity).mkdir(parents=True)
    assert available_corruptions(imagenet, RobustnessOptions()) == CORRUPTIONS  # severities 3-5 missing
    assert available_corruptions(imagenet, RobustnessOptions(severities=(1, 2))) == CORRUPTIONS + ("frost",)
    with pytest.raises(DataError, match="severities 1, 2, 3, 4, 5"):
        available_corruptions(imagenet, RobustnessOptions(corruptions=("frost",)))


# ----------------------------------------------------------------------------- CIFAR-10-C: memory-mapped


def test_cifar10_c_is_memory_mapped_and_indexed(tmp_path, write_cifar10_c):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5 * 6, 32, 32, 3), dtype=np.uint8)
    write_cifar10_c(tmp_path, "snow", images, np.tile(np.arange(6) % 3, 5).astype(np.uint8))
    mapped, labels = _cifar10_c_arrays(tmp_path, "snow", 4)
    assert isinstance(mapped, np.memmap) and labels.dtype == np.int64  # nothing read yet
    indices = np.array([1, 4, 5])
    every, every_labels = load_cifar10_c(tmp_path, "snow", 4)
    x, y = load_cifar10_c(tmp_path, "snow", 4, indices)
    assert type(x) is np.ndarray and x.dtype == np.uint8
    np.testing.assert_array_equal(x, every[indices])
    np.testing.assert_array_equal(x, images[18:24][indices])
    np.testing.assert_array_equal(y, every_labels[indices])
    with pytest.raises(IndexError):
        load_cifar10_c(tmp_path, "snow", 4, np.array([6]))


def test_a_cifar10_population_reads_snow_from_cifar10_c(tmp_path, make_cifar_folder, write_cifar10_c):
    make_cifar_folder(tmp_path, n=10)
    load_dataset.cache_clear()
    try:
        settings = DataSettings(dataset="cifar10", data_dir=str(tmp_path))
        data = load_dataset(settings)
        test = pickle.loads((tmp_path / datasets.CIFAR10_FOLDER / datasets.CIFAR10_TEST_BATCH).read_bytes())
        published = published_sets_dir(settings)
        published.mkdir()
        snow = np.random.default_rng(1).integers(0, 256, (5 * 10, 32, 32, 3), dtype=np.uint8)
        write_cifar10_c(published, "snow", snow, np.tile(np.asarray(test[b"labels"]), 5).astype(np.uint8))
        options = RobustnessOptions(corruptions=("snow", "contrast"), severities=(1, 3), subsample=4)
        indices, sets = corrupted_sets(data, settings, options, tmp_path / "results", False)
        assert sorted(sets) == [("contrast", 1), ("contrast", 3), ("snow", 1), ("snow", 3)]
        every, _ = load_cifar10_c(published, "snow", 3)
        np.testing.assert_array_equal(sets[("snow", 3)], every[indices])
        np.testing.assert_array_equal(sets[("snow", 1)], snow[:10][indices])
        # a test set cut to its first n images uses the first n of the published set
        cut = DataSettings(dataset="cifar10", data_dir=str(tmp_path), test_subset=6)
        cut_indices, cut_sets = corrupted_sets(load_dataset(cut), cut, options, tmp_path / "results", False)
        assert cut_indices.max() < 6
        np.testing.assert_array_equal(cut_sets[("snow", 3)], snow[20:30][cut_indices])
        # labels that do not follow the test set are refused before any image is used
        shifted = (np.tile(np.asarray(test[b"labels"]), 5) + 1).astype(np.uint8) % 10
        write_cifar10_c(published, "snow", snow, shifted)
        with pytest.raises(DataError, match="test set's order"):
            corrupted_sets(data, settings, options, tmp_path / "results", False)
    finally:
        load_dataset.cache_clear()


# ----------------------------------------------------------------------------- ImageNet-C: only the subsample decoded


def write_tree(folder, files, seed=0):
    """PNG images (lossless, so pixels compare exactly) of 8x8 at ``folder/<class>/<name>``; returns them."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = {}
    for wnid, name in files:
        (folder / wnid).mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / wnid / name, format="PNG")
        written[(wnid, name)] = pixels
    return written


# written out of order: the test set's order is sorted class folders, then sorted file names
FILES = [("n03", "b.png"), ("n01", "c.png"), ("n03", "a.png"), ("n01", "a.png"), ("n02", "z.png"), ("n01", "b.png")]
ORDER = sorted(FILES)
TEST_LABELS = np.array([CLASSES.index(wnid) for wnid, _ in ORDER])


def test_the_folder_order_is_torchvision_image_folders(tmp_path):
    from torchvision import datasets

    write_tree(tmp_path, FILES)
    paths, labels = _list_folder(tmp_path, CLASSES)
    reference = datasets.ImageFolder(tmp_path)
    assert [str(p) for p in paths] == [path for path, _ in reference.samples]
    assert labels.tolist() == [target for _, target in reference.samples] == TEST_LABELS.tolist()


def fake_imagenet(root):
    """An in-memory stand-in for the ImageNet test set whose labels are TEST_LABELS (its images, only
    used for generated corruptions, are grey)."""
    n = len(TEST_LABELS)
    train = torch.zeros((1, 3, 8, 8), dtype=torch.uint8)
    test = torch.full((n, 3, 8, 8), 128, dtype=torch.uint8)
    data = InMemoryImages("imagenet", CLASSES, train, torch.zeros(1), test, torch.from_numpy(TEST_LABELS), False)
    return data, DataSettings(dataset="imagenet", data_dir=str(root))


def test_imagenet_c_decodes_only_the_subsample(tmp_path, monkeypatch):
    root = published_sets_dir(DataSettings(dataset="imagenet", data_dir=str(tmp_path)))
    folder = imagenet_c_folder(root, "snow", 2)
    written = write_tree(folder, FILES)
    indices = np.array([0, 3, 5])
    every, every_labels = load_imagenet_c(root, "snow", 2, CLASSES)
    np.testing.assert_array_equal(every, np.stack([written[key] for key in ORDER]))
    np.testing.assert_array_equal(every_labels, TEST_LABELS)

    opened = []
    decode = _decode_image
    monkeypatch.setattr(
        "pruning_impact.robustness.shifted_sets._decode_image",
        lambda path, size: opened.append(path) or decode(path, size),
    )
    x, y = load_imagenet_c(root, "snow", 2, CLASSES, indices)
    np.testing.assert_array_equal(x, every[indices])
    np.testing.assert_array_equal(y, every_labels[indices])
    assert [(p.parent.name, p.name) for p in opened] == [ORDER[i] for i in indices]

    # through the evaluation's sets: a damaged file outside the subsample is never opened
    data, settings = fake_imagenet(tmp_path)
    options = RobustnessOptions(corruptions=("snow", "contrast"), severities=(2,), subsample=3, seed=0)
    subsample = subsample_indices(len(TEST_LABELS), 3, 0)
    outside = next(i for i in range(len(ORDER)) if i not in subsample)
    (folder / ORDER[outside][0] / ORDER[outside][1]).write_bytes(b"not an image")
    opened.clear()
    got_indices, sets = corrupted_sets(data, settings, options, tmp_path / "results", False)
    np.testing.assert_array_equal(got_indices, subsample)
    np.testing.assert_array_equal(sets[("snow", 2)], every[subsample])
    assert sets[("contrast", 2)].shape == (3, 8, 8, 3)  # generated: no published contrast
    assert len(opened) == 3 and all(ORDER.index((p.parent.name, p.name)) in subsample for p in opened)
    # the damaged file is a clear error when it is asked for
    with pytest.raises(DataError, match="cannot read the image"):
        load_imagenet_c(root, "snow", 2, CLASSES, np.array([outside]))


def test_imagenet_c_labels_out_of_the_test_order_are_refused(tmp_path):
    root = published_sets_dir(DataSettings(dataset="imagenet", data_dir=str(tmp_path)))
    write_tree(imagenet_c_folder(root, "frost", 1), [(w, n) for w, n in FILES if w != "n02"])  # a class short
    data, settings = fake_imagenet(tmp_path)
    options = RobustnessOptions(corruptions=("frost",), severities=(1,), subsample=2)
    with pytest.raises(DataError, match="test set's order"):
        corrupted_sets(data, settings, options, tmp_path / "results", False)
