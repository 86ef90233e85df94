"""Images behind one interface (``ImageData``): what training and evaluation need of a dataset, whatever
its source. Small datasets live in memory as uint8 tensors (``InMemoryImages``) and are batched, shuffled,
normalised and augmented with tensor operations; the loaders of each dataset are in ``datasets``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

Batch = tuple[torch.Tensor, torch.Tensor]
NORMALIZATION = {  # per-channel mean and std of the training images
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "synthetic": ((0.5,), (0.25,)),
}


class ImageData:
    """What training and evaluation need from a dataset."""

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # channels, height, width
    test_labels: np.ndarray  # int64 [N], in the fixed test order
    train_size: int

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(self.train_size // batch_size, 1)

    def train_batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[Batch]:
        """One epoch of shuffled (and, if configured, augmented) normalized batches."""
        raise NotImplementedError

    def test_batches(self, batch_size: int, device: torch.device) -> Iterator[Batch]:
        """The test set in its fixed order, normalized."""
        raise NotImplementedError

    def test_images(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Raw test images as uint8, [n, H, W] for grayscale or [n, H, W, C], for galleries."""
        raise NotImplementedError


def _normalizer(mean: tuple[float, ...], std: tuple[float, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    """uint8 pixels to (x / 255 - mean) / std, as one scale and one shift in place (3x faster than four
    passes: the robustness stage converts 76,000 images per model)."""
    scale = torch.tensor([1 / (255.0 * s) for s in std]).view(1, -1, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(mean, std)]).view(1, -1, 1, 1)

    def normalize(images: torch.Tensor) -> torch.Tensor:
        return images.to(torch.float32).mul_(scale.to(images.device)).sub_(shift.to(images.device))

    return normalize


def images_to_input(dataset: str, images: np.ndarray) -> torch.Tensor:
    """Raw uint8 images [N, H, W] or [N, H, W, C] (as ``test_images`` gives) to a normalized float batch [N, C, H, W]."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return _normalizer(*NORMALIZATION[dataset])(x)


def pixel_bounds(dataset: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel (low, high, std) [1, C, 1, 1] of normalized inputs, for attacks bounded in pixel units."""
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in NORMALIZATION[dataset])
    return (0 - mean) / std, (1 - mean) / std, std


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Zero-pad by ``padding``, crop back to size at a random offset, flip half horizontally (per image)."""
    n, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    rows = (dy[:, None] + torch.arange(h))[:, :, None]  # [n, h, 1]
    cols = dx[:, None] + torch.arange(w)  # [n, w]
    cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, :]  # [n, 1, w]
    batch = torch.arange(n)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch on ``device``; to a GPU through pinned memory, so the copy overlaps with computation."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class InMemoryImages(ImageData):
    """A dataset held as uint8 tensors [N, C, H, W]."""

    def __init__(
        self,
        name: str,
        class_names: tuple[str, ...],
        train_x: torch.Tensor,
        train_y: torch.Tensor,
        test_x: torch.Tensor,
        test_y: torch.Tensor,
        augment: bool,
    ) -> None:
        self.name = name
        self.class_names = tuple(class_names)
        self.train_x, self.train_y = train_x, train_y.long()
        self.test_x, self.test_y = test_x, test_y.long()
        self.image_shape = tuple(train_x.shape[1:])
        self.test_labels = self.test_y.numpy().astype(np.int64)
        self.train_size = len(train_x)
        self.augment = augment
        self.normalize = _normalizer(*NORMALIZATION[name])

    def train_batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[Batch]:
        order = torch.randperm(self.train_size, generator=generator)
        for i in range(self.steps_per_epoch(batch_size)):
            idx = order[i * batch_size : (i + 1) * batch_size]
            images = self.train_x[idx]
            if self.augment:
                images = random_crop_flip(images, generator)
            yield self.normalize(_to_device(images, device)), _to_device(self.train_y[idx], device)

    def test_batches(self, batch_size: int, device: torch.device) -> Iterator[Batch]:
        for start in range(0, len(self.test_x), batch_size):
            stop = start + batch_size
            yield (
                self.normalize(_to_device(self.test_x[start:stop], device)),
                _to_device(self.test_y[start:stop], device),
            )

    def test_images(self, indices) -> np.ndarray:
        images = self.test_x[torch.from_numpy(np.array(indices, dtype=np.int64))].permute(0, 2, 3, 1).numpy()
        return images[..., 0] if images.shape[-1] == 1 else images
