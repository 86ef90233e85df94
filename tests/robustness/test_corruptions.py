import numpy as np
import pytest
from scipy import ndimage

from pruning_impact.robustness.corruptions import CIFAR_C, CORRUPTIONS, IMAGENET_C, corrupt, severity_constant
from pruning_impact.training.datasets import synthetic_arrays


def natural_like(shape, seed=0):
    """Smooth random images with full contrast: closer to photographs than white noise."""
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.random(shape), sigma=(0, 2, 2) + (0,) * (len(shape) - 3))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 255).astype(np.uint8)


GRAY = natural_like((12, 28, 28))
RGB = natural_like((12, 32, 32, 3), seed=1)


def distance(a, b):
    return np.abs(a.astype(int) - b.astype(int)).mean()


@pytest.mark.parametrize("name", CORRUPTIONS)
@pytest.mark.parametrize("images", [GRAY, RGB], ids=["gray28", "rgb32"])
def test_every_corruption_keeps_shape_dtype_and_is_seeded(name, images):
    for severity in range(1, 6):
        out = corrupt(images, name, severity, seed=3)
        assert out.shape == images.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out, corrupt(images, name, severity, seed=3))
    assert not np.array_equal(corrupt(images, name, 5, seed=3), images)


@pytest.mark.parametrize("name", [n for n in CORRUPTIONS if n != "elastic_transform"])
@pytest.mark.parametrize("images", [GRAY, RGB], ids=["gray28", "rgb32"])
def test_severity_5_is_farther_from_the_clean_image_than_severity_1(name, images):
    assert distance(corrupt(images, name, 5), images) > distance(corrupt(images, name, 1), images)


def test_elastic_transform_follows_its_constants():
    # CIFAR-10-C's elastic constants trade a large affine jitter at severity 1 for local warping at 5,
    # so pixel distance is not monotone; both move the image, and differently.
    one, five = corrupt(GRAY, "elastic_transform", 1), corrupt(GRAY, "elastic_transform", 5)
    assert distance(one, GRAY) > 1 and distance(five, GRAY) > 1 and not np.array_equal(one, five)


def test_random_corruptions_change_with_the_seed():
    assert not np.array_equal(corrupt(RGB, "gaussian_noise", 3, seed=0), corrupt(RGB, "gaussian_noise", 3, seed=1))


def test_no_overflow_at_the_extremes():
    white = np.full((4, 28, 28), 255, np.uint8)
    black = np.zeros((4, 28, 28), np.uint8)
    for name in CORRUPTIONS:
        for images in (white, black):
            out = corrupt(images, name, 5)
            assert out.dtype == np.uint8
    # brightening white stays white instead of wrapping to black
    assert (corrupt(white, "brightness", 5) == 255).all()
    assert (corrupt(white, "gaussian_noise", 5) >= 128).mean() > 0.9


def test_constants_follow_image_size():
    assert severity_constant("gaussian_noise", 1, 28) == CIFAR_C["gaussian_noise"][0] == 0.04
    assert severity_constant("gaussian_noise", 5, 224) == IMAGENET_C["gaussian_noise"][4] == 0.38
    assert severity_constant("jpeg_compression", 5, 32) == 40


@pytest.mark.parametrize(
    "name, severity, message",
    [("rain", 1, "unknown corruption"), ("fog", 0, "severity"), ("fog", 6, "severity"), ("fog", 2.5, "severity")],
)
def test_bad_names_and_severities_are_refused(name, severity, message):
    with pytest.raises(ValueError, match=message):
        corrupt(GRAY, name, severity)


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        corrupt(GRAY.astype(np.float32), "fog", 1)


def test_works_on_the_synthetic_images():
    images = synthetic_arrays()[2][:20, 0]
    assert corrupt(images, "zoom_blur", 2).shape == images.shape


@pytest.mark.parametrize("name", ["snow", "frost"])
def test_snow_and_frost_are_not_generated(name):
    with pytest.raises(ValueError, match=f"{name} cannot be generated.*published set"):
        corrupt(RGB, name, 1)
