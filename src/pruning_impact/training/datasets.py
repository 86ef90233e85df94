"""The datasets' loaders: Fashion-MNIST (the offline default), CIFAR-10, ImageNet and a synthetic task,
each read from its files as its publisher lays them out (the names are here, beside the loaders).

The test set is always read in one fixed order, so example i of one model's predictions is example
i of every other model's. Fashion-MNIST and CIFAR-10 are held in memory (``images.InMemoryImages``);
ImageNet streams from an ImageFolder tree.
"""

from __future__ import annotations

import gzip
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from pruning_impact.foundations.errors import DataError
from pruning_impact.foundations.settings import DataSettings
from pruning_impact.training.images import NORMALIZATION, ImageData, InMemoryImages

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# ----------------------------------------------------------------------------- the publishers' layouts

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
FASHION_MNIST_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
IMAGENET_SPLITS = ("train", "val")


def torchvision_fashion_mnist_dir(data_dir: Path) -> Path:
    """Where torchvision's download puts Fashion-MNIST's IDX files."""
    return data_dir / "FashionMNIST" / "raw"


def fashion_mnist_folders(data_dir: Path) -> list[Path]:
    """Where Fashion-MNIST's IDX files are looked for, in order."""
    return [data_dir / "fashion-mnist", torchvision_fashion_mnist_dir(data_dir), data_dir, SYSTEM_FASHION_MNIST]


# ----------------------------------------------------------------------------- Fashion-MNIST


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not), as in the original MNIST distribution."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        magic = int.from_bytes(raw[:4], "big")
        if magic >> 8 != 0x08:  # 0x08: unsigned byte data
            raise ValueError(f"magic number {magic:#x} is not an unsigned-byte IDX file")
        ndim = magic & 0xFF
        shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return data.reshape(shape)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path} is not a readable IDX file ({exc}); delete it and fetch the dataset again") from exc


def _find_idx_files(folder: Path) -> dict[str, Path] | None:
    found = {}
    for key, stem in FASHION_MNIST_FILES.items():
        candidates = [folder / f"{stem}.gz", folder / stem]
        existing = [c for c in candidates if c.is_file()]
        if not existing:
            return None
        found[key] = existing[0]
    return found


def locate_fashion_mnist(data_dir: Path, download: bool = True) -> dict[str, Path]:
    for folder in fashion_mnist_folders(data_dir):
        files = _find_idx_files(folder)
        if files:
            return files
    if download:
        try:
            from torchvision.datasets import FashionMNIST

            FashionMNIST(root=str(data_dir), train=True, download=True)
            FashionMNIST(root=str(data_dir), train=False, download=True)
        except Exception as exc:  # no network, a proxy, a damaged archive...
            reason = f"torchvision's download failed: {exc}"
        else:
            files = _find_idx_files(torchvision_fashion_mnist_dir(data_dir))
            if files:
                return files
            reason = "torchvision's download left no IDX files"
    else:
        reason = "download was not attempted"
    looked = ", ".join(str(f) for f in fashion_mnist_folders(data_dir))
    raise DataError(
        f"Fashion-MNIST not found (looked in {looked}; {reason}). Get it either way:\n"
        f"  - Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist  (installs {SYSTEM_FASHION_MNIST})\n"
        f"  - or copy the four files {', '.join(v + '.gz' for v in FASHION_MNIST_FILES.values())} into "
        f"{fashion_mnist_folders(data_dir)[0]}"
    )


def load_fashion_mnist(settings: DataSettings) -> InMemoryImages:
    files = locate_fashion_mnist(Path(settings.data_dir))
    arrays = {key: read_idx(path) for key, path in files.items()}
    for split in ("train", "test"):
        if len(arrays[f"{split}_x"]) != len(arrays[f"{split}_y"]):
            raise DataError(f"Fashion-MNIST {split} images and labels differ in count; the files are damaged")
    tensor = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    return InMemoryImages(
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        tensor["train_x"][:, None],
        tensor["train_y"],
        tensor["test_x"][:, None],
        tensor["test_y"],
        settings.augment,
    )


# ----------------------------------------------------------------------------- CIFAR-10


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="bytes")
        images = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(entry[b"labels"], dtype=np.int64)
    except (OSError, pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
        raise DataError(
            f"{path} is not a readable CIFAR-10 batch ({exc}); delete the folder and fetch it again"
        ) from exc
    return images, labels


def load_cifar10(settings: DataSettings) -> InMemoryImages:
    """CIFAR-10 in torchvision's layout (``<data_dir>/cifar-10-batches-py``), downloaded if missing."""
    data_dir = Path(settings.data_dir)
    folder = data_dir / CIFAR10_FOLDER
    if not (folder / CIFAR10_TEST_BATCH).is_file():
        try:
            from torchvision.datasets import CIFAR10

            CIFAR10(root=str(data_dir), train=True, download=True)
        except Exception as exc:
            raise DataError(
                f"CIFAR-10 not found in {folder} and the download failed ({exc}). Download the python version "
                f"(cifar-10-python.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it in {data_dir}"
            ) from exc
    train = [_read_cifar_batch(folder / name) for name in CIFAR10_TRAIN_BATCHES]
    test_x, test_y = _read_cifar_batch(folder / CIFAR10_TEST_BATCH)
    train_x = np.concatenate([x for x, _ in train])
    train_y = np.concatenate([y for _, y in train])
    return InMemoryImages(
        "cifar10",
        CIFAR10_CLASSES,
        torch.from_numpy(train_x),
        torch.from_numpy(train_y),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y),
        settings.augment,
    )


# ----------------------------------------------------------------------------- ImageNet


class ImageFolderImages(ImageData):
    """ImageNet in the ImageFolder layout: ``<data_dir>/train/<wnid>/*.JPEG`` and ``<data_dir>/val/<wnid>/*``."""

    def __init__(self, settings: DataSettings, train_subset: int | None, test_subset: int | None) -> None:
        from torchvision import transforms
        from torchvision.datasets import ImageFolder

        root = Path(settings.data_dir)
        train_dir, test_dir = (root / split for split in IMAGENET_SPLITS)
        missing = [d for d in (train_dir, test_dir) if not d.is_dir()]
        if missing:
            raise DataError(
                f"ImageNet not found: {', '.join(map(str, missing))} missing. Put the ILSVRC-2012 "
                f"images in the ImageFolder layout (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG) under {root}, "
                "e.g. with the valprep.sh script for the validation images, and pass --data-dir"
            )
        mean, std = NORMALIZATION["imagenet"]
        normalize = transforms.Normalize(mean, std)
        train_tf = (
            [transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip()]
            if settings.augment
            else [transforms.Resize(256), transforms.CenterCrop(224)]
        )
        self.eval_geometry = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
        self.train_set = ImageFolder(train_dir, transforms.Compose(train_tf + [transforms.ToTensor(), normalize]))
        self.test_set = ImageFolder(
            test_dir, transforms.Compose([self.eval_geometry, transforms.ToTensor(), normalize])
        )
        if self.train_set.classes != self.test_set.classes:
            raise DataError(f"the class folders of {train_dir} and {test_dir} differ")
        self.train_indices = list(range(len(self.train_set)))[:train_subset]
        self.test_indices = list(range(len(self.test_set)))[:test_subset]
        self.num_workers = settings.num_workers
        self.name = "imagenet"
        self.class_names = tuple(self.train_set.classes)
        self.image_shape = (3, 224, 224)
        self.test_labels = np.asarray(self.test_set.targets, dtype=np.int64)[self.test_indices]
        self.train_size = len(self.train_indices)

    def _loader(self, dataset, indices, batch_size, shuffle, generator=None):
        from torch.utils.data import DataLoader, Subset

        return DataLoader(
            Subset(dataset, indices),
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
            num_workers=self.num_workers,
            drop_last=shuffle,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=False,
        )

    def train_batches(self, batch_size, generator, device):
        for x, y in self._loader(self.train_set, self.train_indices, batch_size, True, generator):
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def test_batches(self, batch_size, device):
        for x, y in self._loader(self.test_set, self.test_indices, batch_size, False):
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def test_images(self, indices) -> np.ndarray:
        from PIL import Image

        out = []
        for i in np.asarray(indices):
            path, _ = self.test_set.samples[self.test_indices[int(i)]]
            with Image.open(path) as img:
                out.append(np.asarray(self.eval_geometry(img.convert("RGB")), dtype=np.uint8))
        return np.stack(out) if out else np.zeros((0, 224, 224, 3), np.uint8)


# ----------------------------------------------------------------------------- synthetic

SYNTHETIC_CLASSES = tuple(f"class {i}" for i in range(10))


def synthetic_arrays(n_train: int = 1200, n_test: int = 400, size: int = 12, seed: int = 1234):
    """A tiny deterministic image task with learnable class structure: a noisy, shifted class prototype.

    Returns uint8 ``(train_x [n,1,size,size], train_y, test_x, test_y)``; the same call always gives
    the same arrays, so no test needs a download.
    """
    rng = np.random.default_rng(seed)
    num_classes = len(SYNTHETIC_CLASSES)
    prototypes = rng.random((num_classes, size + 2, size + 2))
    prototypes = (prototypes > 0.5).astype(np.float32)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % num_classes
        rng.shuffle(labels)
        dy, dx = rng.integers(0, 3, n), rng.integers(0, 3, n)
        images = np.stack([prototypes[c, y : y + size, x : x + size] for c, y, x in zip(labels, dy, dx)])
        images = 0.5 * images + 0.25 + rng.normal(0, 0.22, images.shape)
        return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)[:, None], labels.astype(np.int64)

    train_x, train_y = sample(n_train)
    test_x, test_y = sample(n_test)
    return train_x, train_y, test_x, test_y


def load_synthetic(settings: DataSettings) -> InMemoryImages:
    train_x, train_y, test_x, test_y = (torch.from_numpy(a) for a in synthetic_arrays())
    return InMemoryImages("synthetic", SYNTHETIC_CLASSES, train_x, train_y, test_x, test_y, settings.augment)


# ----------------------------------------------------------------------------- entry point


def _subset(data: InMemoryImages, train_subset: int | None, test_subset: int | None) -> InMemoryImages:
    return InMemoryImages(
        data.name,
        data.class_names,
        data.train_x[:train_subset],
        data.train_y[:train_subset],
        data.test_x[:test_subset],
        data.test_y[:test_subset],
        data.augment,
    )


@lru_cache(maxsize=4)
def load_dataset(settings: DataSettings) -> ImageData:
    """The dataset that ``settings`` names (cached per process: a population loads it once)."""
    if settings.dataset == "imagenet":
        return ImageFolderImages(settings, settings.train_subset, settings.test_subset)
    loaders = {"fashion-mnist": load_fashion_mnist, "cifar10": load_cifar10, "synthetic": load_synthetic}
    data = loaders[settings.dataset](settings)
    if settings.train_subset or settings.test_subset:
        data = _subset(data, settings.train_subset, settings.test_subset)
    return data


def test_images(settings: DataSettings, indices) -> np.ndarray:
    """Raw test images (uint8 [n, H, W, C]) of a dataset at these indices of the fixed test order, for galleries."""
    return load_dataset(settings).test_images(indices)
