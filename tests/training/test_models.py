import pytest
import torch

from pruning_impact.foundations.settings import ModelSettings
from pruning_impact.training.models import build_model


@pytest.mark.parametrize(
    "settings, shape",
    [
        (ModelSettings(arch="small-cnn", widths=(8, 16)), (1, 28, 28)),
        (ModelSettings(arch="small-cnn"), (3, 32, 32)),
        (ModelSettings(arch="small-cnn", downsample="stride", head="flatten"), (1, 28, 28)),
        (ModelSettings(arch="small-cnn", downsample="stride", head="flatten"), (3, 32, 32)),
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


def test_zero_init_residual_zeroes_the_last_batch_norm_of_every_residual_block():
    from torchvision.models.resnet import Bottleneck

    torch.manual_seed(0)
    model = build_model(ModelSettings(arch="resnet50", zero_init_residual=True), (3, 32, 32), 5)
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 3 + 4 + 6 + 3
    for block in blocks:
        assert torch.all(block.bn3.weight == 0)
        assert torch.all(block.bn1.weight == 1) and torch.all(block.bn2.weight == 1)
        if block.downsample is not None:  # the projection shortcut's batch norm is left at 1
            assert torch.all(block.downsample[1].weight == 1)
    assert torch.all(model.bn1.weight == 1)
    # by default every gamma starts at 1, and the option draws nothing from the RNG: the weights match
    torch.manual_seed(0)
    plain = build_model(ModelSettings(arch="resnet50"), (3, 32, 32), 5)
    assert all(torch.all(b.bn3.weight == 1) for b in plain.modules() if isinstance(b, Bottleneck))
    assert torch.equal(plain.fc.weight, model.fc.weight) and torch.equal(plain.conv1.weight, model.conv1.weight)


@pytest.mark.parametrize("arch", ["wrn", "small-cnn"])
def test_zero_init_residual_is_refused_where_no_block_ends_in_a_batch_norm(arch):
    from pruning_impact.foundations.errors import SettingsError

    with pytest.raises(SettingsError, match="model.zero_init_residual: applies to resnet50 only"):
        ModelSettings(arch=arch, zero_init_residual=True)


def test_strided_flattening_cnn_is_the_fashion_mnist_default_and_its_cost_is_counted():
    from pruning_impact.foundations.profiles import get_profile
    from pruning_impact.training.models import multiply_adds

    model = build_model(get_profile("fashion-mnist").model, (1, 28, 28), 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.stride for c in convs] == [(2, 2)] * 3
    assert model.classifier.in_features == 64 * 4 * 4  # 28 -> 14 -> 7 -> 4, flattened
    # by hand: 14*14*16*9 + 7*7*32*16*9 + 4*4*64*32*9 + 1024*10
    assert multiply_adds(model, (1, 28, 28)) == 28_224 + 225_792 + 294_912 + 10_240
    assert model.training  # counting leaves the model's mode alone


def test_unknown_small_cnn_options_are_refused():
    from pruning_impact.foundations.errors import SettingsError

    with pytest.raises(SettingsError, match="model.downsample"):
        ModelSettings(downsample="avgpool")
    with pytest.raises(SettingsError, match="model.head"):
        ModelSettings(head="attention")


class _DataDependent(torch.nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x  # fx cannot trace a branch on data


@pytest.mark.parametrize(
    "settings",
    [
        ModelSettings(downsample="stride", head="flatten"),
        ModelSettings(arch="wrn", depth=10, widen_factor=1),
        ModelSettings(arch="resnet50"),
    ],
)
def test_folding_batch_norms_for_evaluation_keeps_the_function(settings):
    from pruning_impact.training.models import inference_model

    torch.manual_seed(0)
    model = build_model(settings, (3, 32, 32), 10)
    model.train()(torch.randn(16, 3, 32, 32))  # batch-norm statistics that are not the identity
    x = torch.randn(4, 3, 32, 32)
    expected = model.eval()(x)
    folded = inference_model(model)
    torch.testing.assert_close(folded(x), expected, atol=1e-4, rtol=1e-4)
    if settings.arch != "wrn":  # pre-activation blocks have no convolution followed by a batch norm
        assert len([m for m in folded.modules() if isinstance(m, torch.nn.BatchNorm2d)]) < len(
            [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        )


def test_a_model_that_cannot_be_traced_is_evaluated_as_it_is():
    from pruning_impact.training.models import inference_model

    model = _DataDependent()
    assert inference_model(model) is model
