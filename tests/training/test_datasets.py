import gzip
import pickle

import numpy as np
import pytest
import torch

from pruning_impact.foundations.errors import DataError
from pruning_impact.foundations.settings import DataSettings
from pruning_impact.training import datasets
from pruning_impact.training.datasets import load_dataset, read_idx, synthetic_arrays
from pruning_impact.training.images import random_crop_flip


def write_idx(path, array, gz=True):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(payload)


def make_fashion_files(folder, n_train=50, n_test=20, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + suffix), array, gz)
    return arrays


@pytest.fixture
def no_system_data(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "SYSTEM_FASHION_MNIST", tmp_path / "nowhere")

    class Refuse:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("no network in this test")

    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", Refuse)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Refuse)
    load_dataset.cache_clear()
    yield
    load_dataset.cache_clear()


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_from_idx_files(tmp_path, no_system_data, gz):
    arrays = make_fashion_files(tmp_path / "fashion-mnist", gz=gz)
    data = load_dataset(DataSettings(dataset="fashion-mnist", data_dir=str(tmp_path)))
    assert data.image_shape == (1, 28, 28) and data.num_classes == 10 and data.train_size == 50
    np.testing.assert_array_equal(data.test_labels, arrays["t10k-labels-idx1-ubyte"])
    np.testing.assert_array_equal(data.test_images([3, 1]), arrays["t10k-images-idx3-ubyte"][[3, 1]])


def test_fashion_mnist_missing_names_both_ways(tmp_path, no_system_data):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist") as info:
        load_dataset(DataSettings(dataset="fashion-mnist", data_dir=str(tmp_path)))
    assert "copy the four files" in str(info.value)


def test_damaged_idx_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="not a readable IDX file"):
        read_idx(path)


@pytest.mark.skipif(not datasets.SYSTEM_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_debian_package(tmp_path):
    data = load_dataset(DataSettings(dataset="fashion-mnist", data_dir=str(tmp_path)))
    assert data.train_size == 60_000 and len(data.test_labels) == 10_000
    assert np.bincount(data.test_labels).tolist() == [1000] * 10


def test_cifar10_in_torchvision_layout(tmp_path, no_system_data, make_cifar_folder):
    folder = make_cifar_folder(tmp_path)
    test = pickle.loads((folder / "test_batch").read_bytes())
    data = load_dataset(DataSettings(dataset="cifar10", data_dir=str(tmp_path), augment=True))
    assert data.train_size == 40 and data.image_shape == (3, 32, 32) and data.class_names[1] == "automobile"
    np.testing.assert_array_equal(data.test_labels, test[b"labels"])
    np.testing.assert_array_equal(data.test_images([0])[0], test[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0))
    x, y = next(data.train_batches(16, torch.Generator().manual_seed(0), torch.device("cpu")))
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32


def test_cifar10_missing_says_where_to_get_it(tmp_path, no_system_data):
    with pytest.raises(DataError, match="cifar-10-python.tar.gz"):
        load_dataset(DataSettings(dataset="cifar10", data_dir=str(tmp_path)))


def test_imagenet_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 2)):
        for wnid in ("n01440764", "n01443537"):
            (tmp_path / split / wnid).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(
                    tmp_path / split / wnid / f"{i}.JPEG"
                )
    settings = DataSettings(dataset="imagenet", data_dir=str(tmp_path), augment=True, num_workers=0)
    data = load_dataset(settings)
    assert data.class_names == ("n01440764", "n01443537") and data.train_size == 6
    assert data.test_labels.tolist() == [0, 0, 1, 1]
    x, y = next(data.train_batches(4, torch.Generator().manual_seed(0), torch.device("cpu")))
    assert x.shape == (4, 3, 224, 224)
    batches = list(data.test_batches(3, torch.device("cpu")))
    assert [b[1].tolist() for b in batches] == [[0, 0, 1], [1]]
    assert data.test_images([0, 3]).shape == (2, 224, 224, 3)


def test_imagenet_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="ImageFolder layout"):
        load_dataset(DataSettings(dataset="imagenet", data_dir=str(tmp_path / "none")))


def test_synthetic_is_deterministic_and_balanced():
    a, b = synthetic_arrays(), synthetic_arrays()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert np.bincount(a[3]).tolist() == [40] * 10


def test_test_order_is_fixed_and_train_order_follows_the_generator():
    data = load_dataset(DataSettings(dataset="synthetic"))
    cpu = torch.device("cpu")
    labels = torch.cat([y for _, y in data.test_batches(64, cpu)]).numpy()
    np.testing.assert_array_equal(labels, data.test_labels)
    first = [y for _, y in data.train_batches(100, torch.Generator().manual_seed(5), cpu)]
    again = [y for _, y in data.train_batches(100, torch.Generator().manual_seed(5), cpu)]
    other = [y for _, y in data.train_batches(100, torch.Generator().manual_seed(6), cpu)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_subsets():
    data = load_dataset(DataSettings(dataset="synthetic", train_subset=100, test_subset=30))
    assert data.train_size == 100 and len(data.test_labels) == 30


def test_random_crop_flip_moves_pixels_but_keeps_shape():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).view(2, 3, 8, 8)
    out = random_crop_flip(images, torch.Generator().manual_seed(0), padding=2)
    assert out.shape == images.shape and out.dtype == images.dtype
    # every output pixel is an input pixel of the same image and channel, or padding
    for i in range(2):
        for c in range(3):
            assert set(out[i, c].flatten().tolist()) <= set(images[i, c].flatten().tolist()) | {0}
