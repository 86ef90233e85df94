"""The distribution-shifted test sets of the robustness evaluation: a fixed subsample of the test set, its
corrupted versions (the published CIFAR-10-C or ImageNet-C where the user has them, otherwise generated once
and cached), and the dataset's natural distribution-shift set (CIFAR-10.1, ImageNet-A) where present.

The loaders follow each published set's layout as its authors distribute it and return uint8 images
[N, H, W, 3] and labels, ready for ``images.images_to_input``. Given the subsample's indices they read only
those images: a CIFAR-10-C array is memory-mapped and indexed, and of an ImageNet-C folder only the files
at those indices are decoded (the others are only listed, for their labels).

Snow and frost (``options.PUBLISHED_ONLY_CORRUPTIONS``) overlay photographs that this project does not
have, so they cannot be generated: they are evaluated only from a published set. The default corruption
list (the 15 that can be generated) gains them wherever the published set holds them
(``available_corruptions``); asking for them by name without a published set is a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import DataError, SettingsError
from pruning_impact.foundations.options import (
    CORRUPTIONS,
    KNOWN_CORRUPTIONS,
    PUBLISHED_ONLY_CORRUPTIONS,
    RobustnessOptions,
)
from pruning_impact.foundations.settings import DataSettings
from pruning_impact.robustness.corruptions import CONSTANTS_VERSION, corrupt
from pruning_impact.training.images import ImageData

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


# ----------------------------------------------------------------------------- the publishers' layouts

CIFAR10_C_DIR, IMAGENET_C_DIR = "CIFAR-10-C", "imagenet-c"  # published corrupted test sets, in the data folder
CIFAR10_1_DIR, IMAGENET_A_DIR = "CIFAR-10.1", "imagenet-a"  # published natural distribution-shift sets


def cifar10_c_files(root: Path, corruption: str) -> tuple[Path, Path]:
    """CIFAR-10-C: the five severities of a corruption in one array, and their labels."""
    return root / f"{corruption}.npy", root / "labels.npy"


def cifar10_1_files(root: Path, version: str) -> tuple[Path, Path]:
    return root / f"cifar10.1_{version}_data.npy", root / f"cifar10.1_{version}_labels.npy"


def imagenet_c_folder(root: Path, corruption: str, severity: int) -> Path:
    return root / corruption / str(severity)


def _check_severity(severity: int) -> None:
    if not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity {severity!r} must be a whole number from 1 to 5")


# ----------------------------------------------------------------------------- published sets


def _cifar10_c_arrays(root: str | Path, corruption: str, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """One severity of a CIFAR-10-C corruption: its images still memory-mapped (nothing read yet) and its
    labels (int64)."""
    _check_severity(severity)
    root = Path(root)
    images_path, labels_path = cifar10_c_files(root, corruption)
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
    return images[part], labels[part].astype(np.int64)


def load_cifar10_c(
    root: str | Path,
    corruption: str,
    severity: int,
    indices: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10-C (Hendrycks & Dietterich): ``<root>/<corruption>.npy`` holds the five severities one after
    another ([5 * 10000, 32, 32, 3]) and ``<root>/labels.npy`` their labels. With ``indices`` (into one
    severity), only those images are read from the memory-mapped file, and their labels returned. With
    ``test_labels``, every label is first checked to follow the test set's order."""
    images, labels = _cifar10_c_arrays(root, corruption, severity)
    if test_labels is not None:
        _check_order(labels, test_labels, Path(root), corruption, severity)
    if indices is None:
        return np.asarray(images, dtype=np.uint8), labels
    indices = _checked_indices(indices, len(labels))
    return np.asarray(images[indices], dtype=np.uint8), labels[indices]


def _checked_indices(indices: np.ndarray, size: int) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= size):
        raise IndexError(f"indices out of range for a set of {size} images")
    return indices


def load_cifar10_1(root: str | Path, version: str = "v6") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10.1 (Recht et al., 2018): ``cifar10.1_<version>_data.npy`` and ``cifar10.1_<version>_labels.npy``."""
    images_path, labels_path = cifar10_1_files(Path(root), version)
    if not images_path.is_file() or not labels_path.is_file():
        raise DataError(
            f"CIFAR-10.1 not found: {images_path} and {labels_path} are needed (github.com/modestyachts/CIFAR-10.1)"
        )
    images, labels = np.load(images_path), np.load(labels_path)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels")
    return images.astype(np.uint8), labels.astype(np.int64)


def _list_folder(folder: Path, class_names: tuple[str, ...]) -> tuple[list[Path], np.ndarray]:
    """The image files of ``<folder>/<class>/`` in the test set's order (sorted class folders, then sorted
    file names, as torchvision's ImageFolder orders them) and their labels, without opening any."""
    index = {name: i for i, name in enumerate(class_names)}
    paths, labels = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if class_dir.name not in index:
            raise DataError(f"{class_dir} is not one of the model's classes (e.g. {class_names[0]})")
        files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += files
        labels += [index[class_dir.name]] * len(files)
    if not paths:
        raise DataError(f"no images found under {folder}")
    return paths, np.asarray(labels, dtype=np.int64)


def _decode_image(path: Path, size: int | None) -> np.ndarray:
    """One image file as uint8 RGB [H, W, 3], resized to ``size`` x ``size`` when given."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if size is not None and img.size != (size, size):
                img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except OSError as error:
        raise DataError(f"cannot read the image {path}: {error}") from error


def _decode(paths: list[Path], size: int | None) -> np.ndarray:
    if not paths:
        side = size or 224
        return np.zeros((0, side, side, 3), np.uint8)
    return np.stack([_decode_image(path, size) for path in paths])


def _read_folder(
    folder: Path, class_names: tuple[str, ...], size: int | None, indices: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The images of a class-folder tree and their labels; with ``indices``, only the files at those
    positions of the test set's order are decoded."""
    return _decode_listed(*_list_folder(folder, class_names), size, indices)


def _decode_listed(
    paths: list[Path], labels: np.ndarray, size: int | None, indices: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The listed images (all, or those at ``indices``) decoded, and their labels."""
    if indices is None:
        return _decode(paths, size), labels
    indices = _checked_indices(indices, len(paths))
    return _decode([paths[i] for i in indices], size), labels[indices]


def _imagenet_c_folder(root: str | Path, corruption: str, severity: int) -> Path:
    _check_severity(severity)
    if corruption not in KNOWN_CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; ImageNet-C has: {', '.join(KNOWN_CORRUPTIONS)}")
    folder = imagenet_c_folder(Path(root), corruption, severity)
    if not folder.is_dir():
        raise DataError(
            f"ImageNet-C not found at {folder}; unpack ImageNet-C so that "
            "<root>/<corruption>/<severity>/<wnid>/ holds the images"
        )
    return folder


def load_imagenet_c(
    root: str | Path,
    corruption: str,
    severity: int,
    class_names: tuple[str, ...],
    indices: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet-C: ``<root>/<corruption>/<severity>/<wnid>/*.JPEG`` (224x224); labels index ``class_names``
    (the sorted ImageNet wnids the models were trained on). With ``indices`` (positions in the test set's
    order), only those files are decoded, and their labels returned. With ``test_labels``, every label is
    first checked to follow the test set's order."""
    paths, labels = _list_folder(_imagenet_c_folder(root, corruption, severity), class_names)
    if test_labels is not None:
        _check_order(labels, test_labels, Path(root), corruption, severity)
    return _decode_listed(paths, labels, None, indices)


def load_imagenet_a(root: str | Path, class_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ImageNet-A (Hendrycks et al., 2019): ``<root>/<wnid>/*.jpg`` for its 200 classes, resized to 224.

    Returns images, labels (indices into the 1,000 ``class_names``) and the indices of the classes
    present, for ``restricted_top1``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"ImageNet-A not found at {root}; unpack imagenet-a.tar so that <root>/<wnid>/ holds images")
    images, labels = _read_folder(root, class_names, 224)
    present = np.asarray(sorted({class_names.index(p.name) for p in root.iterdir() if p.is_dir()}), dtype=np.int64)
    return images, labels, present


def restricted_top1(logits: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """The top-1 class of each row when only ``classes`` (ImageNet-A's 200) may be predicted, or over every
    class when ``classes`` is None (what the paper's code did for ImageNet-A)."""
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
    name = {"cifar10": CIFAR10_C_DIR, "imagenet": IMAGENET_C_DIR}.get(data.dataset)
    return Path(data.data_dir) / name if name else None


def _published_holds(data: DataSettings, name: str, severities: tuple[int, ...]) -> bool:
    """Whether the published set in the data folder holds ``name`` at every one of ``severities``."""
    folder = published_sets_dir(data)
    if folder is None or not folder.is_dir():
        return False
    if data.dataset == "cifar10":
        return cifar10_c_files(folder, name)[0].is_file()  # (a missing labels.npy is an error when read)
    return all(imagenet_c_folder(folder, name, s).is_dir() for s in severities)


def _published_set_help(dataset: str, folder: Path) -> str:
    """How to put the published corrupted set of ``dataset`` in place, in the layout its loader reads."""
    if dataset == "cifar10":
        images, labels = cifar10_c_files(folder, "<corruption>")
        return (
            "download CIFAR-10-C (Hendrycks & Dietterich, 2019; Zenodo record 2535967) and unpack it so that "
            f"{images} and {labels} exist"
        )
    example = imagenet_c_folder(folder, "<corruption>", "<severity>")  # type: ignore[arg-type]
    return (
        "download ImageNet-C (Hendrycks & Dietterich, 2019; Zenodo record 2235448) and unpack it so that "
        f"{example}/<wnid>/ holds the images of every severity evaluated"
    )


def available_corruptions(data: DataSettings, options: RobustnessOptions) -> tuple[str, ...]:
    """The corruptions the evaluation covers: ``options.corruptions``, and, when that is the default list
    (the 15 that can be generated), snow and frost too wherever the published set in the data folder holds
    them at every severity asked for. So the default options run offline on generated images alone and
    gain the paper's two photographic corruptions once CIFAR-10-C or ImageNet-C is in place.

    Snow or frost asked for by name without a published set holding them raise an error saying what to do:
    a ``SettingsError`` for datasets that have no published corrupted set, a ``DataError`` otherwise."""
    severities = tuple(options.severities)
    missing = [
        name
        for name in options.corruptions
        if name in PUBLISHED_ONLY_CORRUPTIONS and not _published_holds(data, name, severities)
    ]
    if missing:
        names, many = " and ".join(missing), len(missing) > 1
        why = (
            f"{names} cannot be generated here ({'they overlay' if many else 'it overlays'} photographs that this "
            f"project does not have); {'they are' if many else 'it is'} read only from a published corrupted set"
        )
        folder = published_sets_dir(data)
        if folder is None:
            raise SettingsError(
                f"{why}, and {data.dataset} has none (CIFAR-10-C and ImageNet-C exist for cifar10 and imagenet); "
                f"leave {names} out of the corruptions"
            )
        where = "" if data.dataset == "cifar10" else f" at severities {', '.join(map(str, severities))}"
        raise DataError(
            f"{why}, and {folder} does not hold {'them' if many else 'it'}{where}: "
            f"{_published_set_help(data.dataset, folder)}, or leave {names} out of the corruptions"
        )
    names = tuple(options.corruptions)
    if names == CORRUPTIONS:
        names += tuple(n for n in PUBLISHED_ONLY_CORRUPTIONS if _published_holds(data, n, severities))
    return names


def corruption_sources(data: DataSettings, options: RobustnessOptions) -> dict[str, str]:
    """Where the images of each corruption in ``available_corruptions`` come from, in its order: the
    published set's folder name (CIFAR-10-C, imagenet-c) where it holds that corruption at every severity
    asked for, otherwise ``generated``. Its keys are the corruptions evaluated."""
    folder = published_sets_dir(data)
    severities = tuple(options.severities)
    return {
        name: folder.name if _published_holds(data, name, severities) else "generated"
        for name in available_corruptions(data, options)
    }


def _check_order(labels: np.ndarray, test_labels: np.ndarray, folder: Path, name: str, severity: int) -> None:
    """A published set keeps the test set's order: its labels are the test labels (their first n when the
    test set is cut to its first n images, ``DataSettings.test_subset``)."""
    n = len(test_labels)
    if len(labels) < n or not np.array_equal(labels[:n], test_labels):
        raise DataError(
            f"the labels of {folder} ({name}, severity {severity}) do not follow the test set's order "
            f"({len(labels)} labels for a test set of {n} images)"
        )


def _published_set(data: ImageData, folder: Path, name: str, severity: int, indices: np.ndarray) -> np.ndarray:
    """The subsample of a published corrupted set (CIFAR-10-C or ImageNet-C keep the test set's order), read
    by its loader: every label is checked against the test labels, but only the images at ``indices`` are
    read."""
    if data.name == "cifar10":
        return load_cifar10_c(folder, name, severity, indices, data.test_labels)[0]
    return load_imagenet_c(folder, name, severity, data.class_names, indices, data.test_labels)[0]


def corrupted_sets(
    data: ImageData, settings: DataSettings, options: RobustnessOptions, results_dir: str | Path, progress: bool = True
) -> tuple[np.ndarray, dict[tuple[str, int], np.ndarray]]:
    """The subsample's indices and its corrupted images per (corruption, severity), for every corruption of
    ``available_corruptions``: from the published set where ``corruption_sources`` finds it (CIFAR-10-C,
    ImageNet-C; only the subsample's images are read), otherwise generated by ``corruptions.corrupt`` and
    cached on disk."""
    indices = subsample_indices(len(data.test_labels), options.subsample, options.seed)
    sources, published = corruption_sources(settings, options), published_sets_dir(settings)
    dataset_key = settings.dataset + (f"-test{settings.test_subset}" if settings.test_subset else "")
    clean = None
    sets = {}
    jobs = [(name, severity) for name in sources for severity in options.severities]
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
                images = folders.load_npy(path)
            except (OSError, ValueError):
                images = None  # damaged: made again below
        if images is None or len(images) != len(indices):
            if clean is None:
                clean = data.test_images(indices)
            images = corrupt(clean, name, severity, seed=options.seed)
            folders.save_npy(path, images)
        sets[(name, severity)] = images
    return indices, sets


NATURAL_SET_NAMES = {"cifar10": "CIFAR-10.1", "imagenet": "ImageNet-A"}


def natural_set_dir(data: DataSettings) -> Path | None:
    """The dataset's natural distribution-shift set, where the user has it in the data folder:
    ``<data_dir>/CIFAR-10.1`` or ``<data_dir>/imagenet-a``; None otherwise."""
    name = {"cifar10": CIFAR10_1_DIR, "imagenet": IMAGENET_A_DIR}.get(data.dataset)
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
