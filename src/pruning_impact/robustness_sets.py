"""The test sets of the robustness evaluation: a fixed subsample of the test set, its corrupted versions
(the published CIFAR-10-C or ImageNet-C where the user has them, otherwise generated once and cached),
and the dataset's natural distribution-shift set (CIFAR-10.1, ImageNet-A) where present.

The loaders follow each published set's layout as its authors distribute it and return uint8 images
[N, H, W, 3] and labels, ready for ``data.images_to_input``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import store
from .corruptions import CONSTANTS_VERSION, corrupt
from .data import ImageData
from .errors import DataError
from .settings import CORRUPTIONS, DataSettings, RobustnessOptions

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def _check_severity(severity: int) -> None:
    if not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity {severity!r} must be a whole number from 1 to 5")


# ----------------------------------------------------------------------------- published sets


def load_cifar10_c(root: str | Path, corruption: str, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10-C (Hendrycks & Dietterich): ``<root>/<corruption>.npy`` holds the five severities one after
    another ([5 * 10000, 32, 32, 3]) and ``<root>/labels.npy`` their labels."""
    _check_severity(severity)
    root = Path(root)
    images_path, labels_path = store.cifar10_c_files(root, corruption)
    if not images_path.is_file() or not labels_path.is_file():
        raise DataError(
            f"CIFAR-10-C not found: {images_path} and {labels_path} are needed. Download CIFAR-10-C "
            f"(Hendrycks & Dietterich, 2019; Zenodo record 2535967) and unpack it in {root}"
        )
    images = np.load(images_path, mmap_mode="r")
    labels = np.load(labels_path)
    if len(images) % 5 or len(images) != len(labels) or images.shape[1:] != (32, 32, 3):
        raise DataError(
            f"{images_path} has shape {images.shape} with {len(labels)} labels; expected five "
            "severities of 32x32x3 images and as many labels"
        )
    per = len(images) // 5
    part = slice((severity - 1) * per, severity * per)
    return np.asarray(images[part], dtype=np.uint8), labels[part].astype(np.int64)


def load_cifar10_1(root: str | Path, version: str = "v6") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10.1 (Recht et al., 2018): ``cifar10.1_<version>_data.npy`` and ``cifar10.1_<version>_labels.npy``."""
    images_path, labels_path = store.cifar10_1_files(Path(root), version)
    if not images_path.is_file() or not labels_path.is_file():
        raise DataError(
            f"CIFAR-10.1 not found: {images_path} and {labels_path} are needed (github.com/modestyachts/CIFAR-10.1)"
        )
    images, labels = np.load(images_path), np.load(labels_path)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels")
    return images.astype(np.uint8), labels.astype(np.int64)


def _read_folder(folder: Path, class_names: tuple[str, ...], size: int | None) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    index = {name: i for i, name in enumerate(class_names)}
    images, labels = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if class_dir.name not in index:
            raise DataError(f"{class_dir} is not one of the model's classes (e.g. {class_names[0]})")
        for path in sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            with Image.open(path) as img:
                img = img.convert("RGB")
                if size is not None and img.size != (size, size):
                    img = img.resize((size, size), Image.BILINEAR)
                images.append(np.asarray(img, dtype=np.uint8))
            labels.append(index[class_dir.name])
    if not images:
        raise DataError(f"no images found under {folder}")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def load_imagenet_c(
    root: str | Path, corruption: str, severity: int, class_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet-C: ``<root>/<corruption>/<severity>/<wnid>/*.JPEG`` (224x224); labels index ``class_names``
    (the sorted ImageNet wnids the models were trained on)."""
    _check_severity(severity)
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; ImageNet-C has: {', '.join(CORRUPTIONS)}")
    folder = store.imagenet_c_folder(Path(root), corruption, severity)
    if not folder.is_dir():
        raise DataError(
            f"ImageNet-C not found at {folder}; unpack ImageNet-C so that "
            "<root>/<corruption>/<severity>/<wnid>/ holds the images"
        )
    return _read_folder(folder, class_names, None)


def load_imagenet_a(root: str | Path, class_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ImageNet-A (Hendrycks et al., 2019): ``<root>/<wnid>/*.jpg`` for its 200 classes, resized to 224.

    Returns images, labels (indices into the 1,000 ``class_names``) and the indices of the classes
    present, for ``score_restricted``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"ImageNet-A not found at {root}; unpack imagenet-a.tar so that <root>/<wnid>/ holds images")
    images, labels = _read_folder(root, class_names, 224)
    present = np.asarray(sorted({class_names.index(p.name) for p in root.iterdir() if p.is_dir()}), dtype=np.int64)
    return images, labels, present


def score_restricted(logits: np.ndarray, labels: np.ndarray, classes: np.ndarray | None) -> float:
    """Top-1 accuracy with predictions restricted to ``classes`` (ImageNet-A's 200), or over every class
    when ``classes`` is None (what the paper's code did for ImageNet-A)."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    return float((restricted_top1(logits, classes) == labels).mean())


def restricted_top1(logits: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """The top-1 class of each row when only ``classes`` may be predicted (all classes when None)."""
    if classes is None:
        return logits.argmax(1)
    classes = np.asarray(classes)
    return classes[logits[:, classes].argmax(1)]


# ----------------------------------------------------------------------------- what the evaluation uses


def subsample_indices(num_test: int, size: int | None, seed: int) -> np.ndarray:
    """A fixed, seeded, sorted subsample of test indices (all of them when ``size`` is None or too large)."""
    if size is None or size >= num_test:
        return np.arange(num_test)
    return np.sort(np.random.default_rng(seed).choice(num_test, size, replace=False))


def published_sets_dir(data: DataSettings) -> Path | None:
    """Where the published corrupted version of the dataset would be: ``<data_dir>/CIFAR-10-C`` or
    ``<data_dir>/imagenet-c``; None for datasets that have none."""
    name = {"cifar10": store.CIFAR10_C_DIR, "imagenet": store.IMAGENET_C_DIR}.get(data.dataset)
    return Path(data.data_dir) / name if name else None


def corruption_sources(data: DataSettings, options: RobustnessOptions) -> dict[str, str]:
    """Where each corruption's images come from: the published set's folder name (CIFAR-10-C, imagenet-c)
    where it holds that corruption at every severity asked for, otherwise ``generated``."""
    folder = published_sets_dir(data)
    sources = {}
    for name in options.corruptions:
        if folder is None or not folder.is_dir():
            present = False
        elif data.dataset == "cifar10":
            present = store.cifar10_c_files(folder, name)[0].is_file()
        else:
            present = all(store.imagenet_c_folder(folder, name, s).is_dir() for s in options.severities)
        sources[name] = folder.name if present else "generated"
    return sources


def _published_set(data: ImageData, folder: Path, name: str, severity: int, indices: np.ndarray) -> np.ndarray:
    """The subsample of a published corrupted set (CIFAR-10-C or ImageNet-C keep the test set's order)."""
    if data.name == "cifar10":
        images, labels = load_cifar10_c(folder, name, severity)
    else:
        images, labels = load_imagenet_c(folder, name, severity, data.class_names)
    if len(labels) != len(data.test_labels) or not np.array_equal(labels, data.test_labels):
        raise DataError(f"the labels of {folder} ({name}, severity {severity}) do not follow the test set's order")
    return np.asarray(images[indices])


def corrupted_sets(
    data: ImageData, settings: DataSettings, options: RobustnessOptions, results_dir: str | Path, progress: bool = True
) -> tuple[np.ndarray, dict[tuple[str, int], np.ndarray]]:
    """The subsample's indices and its corrupted images per (corruption, severity): from the published set
    where ``corruption_sources`` finds it (CIFAR-10-C, ImageNet-C), otherwise generated by
    ``corruptions.corrupt`` and cached on disk."""
    indices = subsample_indices(len(data.test_labels), options.subsample, options.seed)
    sources, published = corruption_sources(settings, options), published_sets_dir(settings)
    dataset_key = settings.dataset + (f"-test{settings.test_subset}" if settings.test_subset else "")
    clean = None
    sets = {}
    jobs = [(name, severity) for name in options.corruptions for severity in options.severities]
    for name, severity in tqdm(jobs, desc="corrupted test sets", disable=not progress, leave=False):
        if sources[name] != "generated":
            sets[(name, severity)] = _published_set(data, published, name, severity, indices)
            continue
        path = store.corrupted_set_path(
            results_dir,
            f"{dataset_key}-n{len(indices)}-sample{options.seed}",
            name,
            severity,
            options.seed,
            CONSTANTS_VERSION,
        )
        images = None
        if path.is_file():
            try:
                images = store.load_npy(path)
            except (OSError, ValueError):
                images = None  # damaged: made again below
        if images is None or len(images) != len(indices):
            if clean is None:
                clean = data.test_images(indices)
            images = corrupt(clean, name, severity, seed=options.seed)
            store.save_npy(path, images)
        sets[(name, severity)] = images
    return indices, sets


NATURAL_SET_NAMES = {"cifar10": "CIFAR-10.1", "imagenet": "ImageNet-A"}


def natural_set_dir(data: DataSettings) -> Path | None:
    """The dataset's natural distribution-shift set, where the user has it in the data folder:
    ``<data_dir>/CIFAR-10.1`` or ``<data_dir>/imagenet-a``; None otherwise."""
    name = {"cifar10": store.CIFAR10_1_DIR, "imagenet": store.IMAGENET_A_DIR}.get(data.dataset)
    folder = Path(data.data_dir) / name if name else None
    return folder if folder is not None and folder.is_dir() else None


@dataclass
class NaturalSet:
    """A natural distribution-shift set: images, labels and (for ImageNet-A) the indices of its classes."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: np.ndarray | None


def load_natural_set(folder: Path, data: ImageData) -> NaturalSet:
    """CIFAR-10.1 or ImageNet-A: ImageNet-A is scored both on all classes, as the paper's code did, and
    restricted to its own 200."""
    if data.name == "cifar10":
        return NaturalSet(NATURAL_SET_NAMES["cifar10"], *load_cifar10_1(folder), None)
    return NaturalSet(NATURAL_SET_NAMES["imagenet"], *load_imagenet_a(folder, data.class_names))
