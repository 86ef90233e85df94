"""Loaders of the published robustness test sets, for users who have them: CIFAR-10-C, CIFAR-10.1,
ImageNet-C and ImageNet-A, each in the layout its authors distribute. They return uint8 images
[N, H, W, 3] and labels, ready for ``data.images_to_input``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .corruptions import CORRUPTIONS
from .errors import DataError

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def _check_severity(severity: int) -> None:
    if not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity {severity!r} must be a whole number from 1 to 5")


def load_cifar10_c(root: str | Path, corruption: str, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10-C (Hendrycks & Dietterich): ``<root>/<corruption>.npy`` holds the five severities one after
    another ([5 * 10000, 32, 32, 3]) and ``<root>/labels.npy`` their labels."""
    _check_severity(severity)
    root = Path(root)
    images_path, labels_path = root / f"{corruption}.npy", root / "labels.npy"
    if not images_path.is_file() or not labels_path.is_file():
        raise DataError(f"CIFAR-10-C not found: {images_path} and {labels_path} are needed. Download CIFAR-10-C "
                        f"(Hendrycks & Dietterich, 2019; Zenodo record 2535967) and unpack it in {root}")
    images = np.load(images_path, mmap_mode="r")
    labels = np.load(labels_path)
    if len(images) % 5 or len(images) != len(labels) or images.shape[1:] != (32, 32, 3):
        raise DataError(f"{images_path} has shape {images.shape} with {len(labels)} labels; expected five "
                        "severities of 32x32x3 images and as many labels")
    per = len(images) // 5
    part = slice((severity - 1) * per, severity * per)
    return np.asarray(images[part], dtype=np.uint8), labels[part].astype(np.int64)


def load_cifar10_1(root: str | Path, version: str = "v6") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10.1 (Recht et al., 2018): ``cifar10.1_<version>_data.npy`` and ``cifar10.1_<version>_labels.npy``."""
    root = Path(root)
    images_path, labels_path = root / f"cifar10.1_{version}_data.npy", root / f"cifar10.1_{version}_labels.npy"
    if not images_path.is_file() or not labels_path.is_file():
        raise DataError(f"CIFAR-10.1 not found: {images_path} and {labels_path} are needed (github.com/modestyachts/CIFAR-10.1)")
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


def load_imagenet_c(root: str | Path, corruption: str, severity: int,
                    class_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet-C: ``<root>/<corruption>/<severity>/<wnid>/*.JPEG`` (224x224); labels index ``class_names``
    (the sorted ImageNet wnids the models were trained on)."""
    _check_severity(severity)
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; ImageNet-C has: {', '.join(CORRUPTIONS)}")
    folder = Path(root) / corruption / str(severity)
    if not folder.is_dir():
        raise DataError(f"ImageNet-C not found at {folder}; unpack ImageNet-C so that "
                        "<root>/<corruption>/<severity>/<wnid>/ holds the images")
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
    if classes is None:
        return float((logits.argmax(1) == labels).mean())
    classes = np.asarray(classes)
    return float((classes[logits[:, classes].argmax(1)] == labels).mean())
