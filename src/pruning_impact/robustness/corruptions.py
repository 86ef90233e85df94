"""Common image corruptions at five severities, after Hendrycks & Dietterich (2019).

``corrupt(images, name, severity, seed)`` takes uint8 images [N, H, W] (grayscale) or [N, H, W, C]
and returns the same shape and dtype, deterministically for a seed. The severity constants are
those of the authors' CIFAR-10-C generator (make_cifar_c.py) for small images (up to 64 px) and
of their ImageNet-C generator (make_imagenet_c.py) for larger ones; the functions are written
anew, vectorised over the batch with numpy, scipy and torch (the PyPI package ``imagecorruptions``
does not run on current libraries). Two are approximations, said where they are defined:
``glass_blur`` displaces pixels locally at random instead of the original's sequential swaps, and
``motion_blur`` uses a one-sided Gaussian line kernel in place of ImageMagick's motion blur.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from pruning_impact.foundations.options import CORRUPTIONS, PUBLISHED_ONLY_CORRUPTIONS

CONSTANTS_VERSION = 1  # bump when a constant or a function changes: cached corrupted sets are renamed

SMALL_IMAGE_LIMIT = 64  # images up to this size use the CIFAR-10-C constants

# Severity 1..5 constants, quoted from Hendrycks & Dietterich's generators.
CIFAR_C = {
    "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
    "shot_noise": [500, 250, 100, 75, 50],
    "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
    "speckle_noise": [0.06, 0.1, 0.12, 0.16, 0.2],
    "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1.0],
    "glass_blur": [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)],
    "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
    "motion_blur": [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
    "zoom_blur": [
        np.arange(1, 1.06, 0.01),
        np.arange(1, 1.11, 0.01),
        np.arange(1, 1.16, 0.01),
        np.arange(1, 1.21, 0.01),
        np.arange(1, 1.26, 0.01),
    ],
    "fog": [(0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)],
    "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],
    "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],
    "elastic_transform": [(0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)],
    "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
    "jpeg_compression": [80, 65, 58, 50, 40],
}
IMAGENET_C = {
    "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],
    "shot_noise": [60, 25, 12, 5, 3],
    "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
    "speckle_noise": [0.15, 0.2, 0.35, 0.45, 0.6],
    "gaussian_blur": [1, 2, 3, 4, 6],
    "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
    "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
    "zoom_blur": [
        np.arange(1, 1.11, 0.01),
        np.arange(1, 1.16, 0.01),
        np.arange(1, 1.21, 0.02),
        np.arange(1, 1.26, 0.02),
        np.arange(1, 1.31, 0.03),
    ],
    "fog": [(1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)],
    "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
    "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],
    # ImageNet-C writes these as multiples of 244 (meant to be 224); as fractions of the image size:
    "elastic_transform": [
        (2 * 244 / 224, 0.7 * 244 / 224, 0.1 * 244 / 224),
        (2 * 244 / 224, 0.08 * 244 / 224, 0.2 * 244 / 224),
        (0.05 * 244 / 224, 0.01 * 244 / 224, 0.02 * 244 / 224),
        (0.07 * 244 / 224, 0.01 * 244 / 224, 0.02 * 244 / 224),
        (0.12 * 244 / 224, 0.01 * 244 / 224, 0.02 * 244 / 224),
    ],
    "pixelate": [0.6, 0.5, 0.4, 0.3, 0.25],
    "jpeg_compression": [25, 18, 15, 10, 7],
}


def severity_constant(name: str, severity: int, size: int):
    """The constant of a corruption at a severity for images of ``size`` pixels (the larger side)."""
    table = CIFAR_C if size <= SMALL_IMAGE_LIMIT else IMAGENET_C
    return table[name][severity - 1]


# ----------------------------------------------------------------------------- helpers on [N, H, W, C] floats


def _torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).numpy().astype(np.float64)


def _convolve(x: np.ndarray, kernels: torch.Tensor) -> np.ndarray:
    """Convolve every channel of image n with kernels[n] ([N, k, k], or [1, k, k] for all), reflecting at borders."""
    n, h, w, c = x.shape
    k = kernels.shape[-1]
    pad = k // 2
    images = _torch(x).reshape(1, n * c, h, w)
    if pad >= min(h, w):  # reflection needs the pad smaller than the image
        images = F.pad(images, (pad,) * 4, mode="replicate")
    else:
        images = F.pad(images, (pad,) * 4, mode="reflect")
    weight = kernels.float().expand(n, k, k) if kernels.shape[0] == 1 else kernels.float()
    weight = weight.repeat_interleave(c, dim=0)[:, None].flip(-1, -2)  # true convolution
    out = F.conv2d(images, weight, groups=n * c)
    return _numpy(out.reshape(n, c, h, w))


def _disk(radius: float, alias_blur: float) -> torch.Tensor:
    """A normalised disk, softened by a small Gaussian, as ImageNet-C's defocus kernel."""
    half = 8 if radius <= 8 else int(np.ceil(radius))
    grid = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = ((xx**2 + yy**2) <= radius**2).astype(np.float64)
    disk /= disk.sum()
    disk = ndimage.gaussian_filter(disk, alias_blur, truncate=1.0 / max(alias_blur, 1e-6), mode="reflect")
    return torch.from_numpy(disk / disk.sum())[None]


def _plasma(count: int, size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """Diamond-square fractal maps [count, size, size] in [0, 1] (size a power of two)."""
    maps = np.zeros((count, size, size))
    step, wibble = size, 100.0

    def noisy_mean(total: np.ndarray) -> np.ndarray:
        return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = maps[:, 0:size:step, 0:size:step]
        square = corners + np.roll(corners, -1, axis=1)
        square = square + np.roll(square, -1, axis=2)
        maps[:, half:size:step, half:size:step] = noisy_mean(square)
        centres = maps[:, half:size:step, half:size:step]
        corners = maps[:, 0:size:step, 0:size:step]
        maps[:, 0:size:step, half:size:step] = noisy_mean(
            centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        )
        maps[:, half:size:step, 0:size:step] = noisy_mean(
            centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        )
        step //= 2
        wibble /= decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def _gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=4.0)


# ----------------------------------------------------------------------------- the corruptions (x in [0, 1])


def gaussian_noise(x, c, rng):
    return x + rng.normal(scale=c, size=x.shape)


def shot_noise(x, c, rng):
    return rng.poisson(x * c) / c


def impulse_noise(x, c, rng):
    out = x.copy()
    hit = rng.random(x.shape) < c
    salt = rng.random(x.shape) < 0.5
    out[hit & salt], out[hit & ~salt] = 1.0, 0.0
    return out


def speckle_noise(x, c, rng):
    return x + x * rng.normal(scale=c, size=x.shape)


def gaussian_blur(x, c, rng):
    return _gaussian_blur(x, c)


def glass_blur(x, c, rng):
    """Blur, displace each pixel to a random neighbour within ``delta`` (``iterations`` times), blur again.

    Approximation: the original swaps pixels one after another along a scan; here every pixel takes
    the value of a random neighbour at once, which is vectorisable and of the same local extent.
    """
    sigma, delta, iterations = c
    x = np.floor(np.clip(_gaussian_blur(x, sigma), 0, 1) * 255) / 255  # the original quantises here
    n, h, w, _ = x.shape
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    for _ in range(iterations):
        dy = rng.integers(-delta, delta, size=(n, h, w))
        dx = rng.integers(-delta, delta, size=(n, h, w))
        src_r = np.clip(rows + dy, 0, h - 1)
        src_c = np.clip(cols + dx, 0, w - 1)
        x = x[np.arange(n)[:, None, None], src_r, src_c]
    return _gaussian_blur(x, sigma)


def defocus_blur(x, c, rng):
    return _convolve(x, _disk(*c))


def motion_blur(x, c, rng):
    """Blur along a random direction in [-45, 45] degrees with a one-sided Gaussian line kernel.

    Approximation of ImageMagick's motion blur (radius, sigma) that ImageNet-C and CIFAR-10-C call.
    """
    radius, sigma = c
    n = len(x)
    size = 2 * int(radius) + 1
    angles = np.deg2rad(rng.uniform(-45, 45, n))
    kernels = np.zeros((n, size, size))
    steps = np.arange(int(radius) + 1)
    weights = np.exp(-(steps**2) / (2 * sigma**2))
    centre = size // 2
    for i, angle in enumerate(angles):
        r = np.clip(np.round(centre - steps * np.sin(angle)).astype(int), 0, size - 1)
        col = np.clip(np.round(centre - steps * np.cos(angle)).astype(int), 0, size - 1)
        np.add.at(kernels[i], (r, col), weights)
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    return _convolve(x, torch.from_numpy(kernels).flip(-1, -2))  # correlation: pixels behind the motion


def zoom_blur(x, c, rng):
    n, h, w, ch = x.shape
    images = _torch(x)
    total = images.clone()
    for factor in c:
        crop_h, crop_w = int(np.ceil(h / factor)), int(np.ceil(w / factor))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        zoomed = F.interpolate(
            images[:, :, top : top + crop_h, left : left + crop_w],
            size=(int(round(crop_h * factor)), int(round(crop_w * factor))),
            mode="bilinear",
            align_corners=False,
        )
        trim_h, trim_w = (zoomed.shape[2] - h) // 2, (zoomed.shape[3] - w) // 2
        total += zoomed[:, :, trim_h : trim_h + h, trim_w : trim_w + w]
    return _numpy(total / (len(c) + 1))


def fog(x, c, rng):
    strength, decay = c
    n, h, w, _ = x.shape
    size = 1 << int(np.ceil(np.log2(max(h, w))))
    layer = _plasma(n, size, decay, rng)[:, :h, :w, None]
    top = x.max(axis=(1, 2, 3), keepdims=True)
    return (x + strength * layer) * top / (top + strength)


def brightness(x, c, rng):
    """Add ``c`` to the HSV value (the largest channel), keeping hue and saturation."""
    value = x.max(axis=3, keepdims=True)
    new_value = np.clip(value + c, 0, 1)
    scale = np.divide(new_value, value, out=np.zeros_like(value), where=value > 0)
    return np.where(value > 0, x * scale, new_value)


def contrast(x, c, rng):
    means = x.mean(axis=(1, 2), keepdims=True)
    return (x - means) * c + means


def elastic_transform(x, c, rng):
    """A random affine map plus a smooth random displacement field (the constants scale with image size)."""
    n, h, w, _ = x.shape
    alpha, sigma, affine = (v * h for v in c)
    centre = np.array([w // 2, h // 2], dtype=np.float64)
    square = min(h, w) // 3
    src = np.stack([centre + square, [centre[0] + square, centre[1] - square], centre - square])  # [3, 2] (x, y)
    dst = src[None] + rng.uniform(-affine, affine, size=(n, 3, 2))
    # affine matrices mapping output points back to input points: solve src = A @ [dst, 1]
    ones = np.ones((n, 3, 1))
    inverse = np.linalg.solve(np.concatenate([dst, ones], axis=2), np.repeat(src[None], n, axis=0))  # [n, 3, 2]
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    points = np.stack([xs, ys, np.ones_like(xs)], axis=-1).reshape(-1, 3).astype(np.float64)  # [hw, 3]
    mapped = np.einsum("pk,nkj->npj", points, inverse).reshape(n, h, w, 2)
    if alpha > 0 and sigma > 0:
        field = rng.uniform(-1, 1, size=(2, n, h, w))
        field = ndimage.gaussian_filter(field, sigma=(0, 0, sigma, sigma), mode="reflect", truncate=3) * alpha
        mapped = mapped + np.stack([field[1], field[0]], axis=-1)  # (dx, dy)
    grid = torch.from_numpy(
        np.stack([2 * mapped[..., 0] / max(w - 1, 1) - 1, 2 * mapped[..., 1] / max(h - 1, 1) - 1], axis=-1)
    ).float()
    out = F.grid_sample(_torch(x), grid, mode="bilinear", padding_mode="reflection", align_corners=True)
    return _numpy(out)


def _per_image(x: np.ndarray, apply: Callable[[Image.Image], Image.Image]) -> np.ndarray:
    images = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    out = []
    for image in images:
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        result = np.asarray(apply(pil), dtype=np.float64)
        out.append(result[..., None] if result.ndim == 2 else result)
    return np.stack(out) / 255.0


def pixelate(x, c, rng):
    h, w = x.shape[1:3]

    def apply(img: Image.Image) -> Image.Image:
        small = img.resize((max(int(w * c), 1), max(int(h * c), 1)), Image.BOX)
        return small.resize((w, h), Image.BOX)

    return _per_image(x, apply)


def jpeg_compression(x, c, rng):
    def apply(img: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=int(c))
        buffer.seek(0)
        return Image.open(buffer).convert(img.mode)

    return _per_image(x, apply)


FUNCTIONS: dict[str, Callable] = {name: globals()[name] for name in CORRUPTIONS}


def corrupt(images: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """Corrupt uint8 images [N, H, W] or [N, H, W, C]; same shape and dtype out, deterministic for ``seed``."""
    if name in PUBLISHED_ONLY_CORRUPTIONS:
        raise ValueError(
            f"{name} cannot be generated: it overlays photographs of snow and frost that this project does not "
            "have; it is read only from a published set (CIFAR-10-C, ImageNet-C), see robustness_sets"
        )
    if name not in FUNCTIONS:
        raise ValueError(f"unknown corruption {name!r}; choose one of: {', '.join(CORRUPTIONS)}")
    if not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity {severity!r} must be a whole number from 1 to 5")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 [N, H, W] or [N, H, W, C], got {images.dtype} {images.shape}")
    if len(images) == 0:
        return images.copy()
    x = images.astype(np.float64)[..., None] / 255.0 if images.ndim == 3 else images.astype(np.float64) / 255.0
    constant = severity_constant(name, int(severity), max(x.shape[1:3]))
    rng = np.random.default_rng([seed, CORRUPTIONS.index(name), int(severity)])
    out = FUNCTIONS[name](x, constant, rng)
    out = np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)
    return out[..., 0] if images.ndim == 3 else out
