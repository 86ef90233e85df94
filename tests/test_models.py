import pytest
import torch

from pruning_impact.models import build_model
from pruning_impact.settings import ModelSettings


@pytest.mark.parametrize(
    "settings, shape",
    [
        (ModelSettings(arch="small-cnn", widths=(8, 16)), (1, 28, 28)),
        (ModelSettings(arch="small-cnn"), (3, 32, 32)),
        (ModelSettings(arch="wrn", depth=10, widen_factor=1), (3, 32, 32)),
        (ModelSettings(arch="resnet50"), (3, 64, 64)),
    ],
)
def test_models_map_images_to_logits(settings, shape):
    torch.manual_seed(0)
    model = build_model(settings, shape, num_classes=7).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_wide_resnet_depth_and_width():
    model = build_model(ModelSettings(arch="wrn", depth=16, widen_factor=2), (3, 32, 32), 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    # 1 stem + 3 groups x 2 blocks x 2 convs + 3 projection shortcuts
    assert len(convs) == 1 + 12 + 3
    assert max(c.out_channels for c in convs) == 64 * 2
