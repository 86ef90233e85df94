"""The architectures: a small batch-norm CNN (the CPU default), Wide ResNet (CIFAR-10), ResNet-50 (ImageNet)."""

from __future__ import annotations

import torch
from torch import nn

from pruning_impact.foundations.settings import ModelSettings


class SmallCNN(nn.Module):
    """Blocks of conv 3x3 -> batch norm -> ReLU that halve the resolution, then a linear classifier.

    ``downsample``: ``maxpool`` (a stride-1 convolution, then a 2x2 max-pool) or ``stride`` (a stride-2
    convolution: the first block then never computes at full resolution, about 2x faster on a CPU).
    ``head``: ``avgpool`` (global average pool) or ``flatten`` (the last feature map as it is, which keeps
    where features are: worth 1.3-1.5 points of top-1 on Fashion-MNIST for the default model).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        widths: tuple[int, ...] = (16, 32, 64),
        downsample: str = "maxpool",
        head: str = "avgpool",
        image_size: tuple[int, int] = (28, 28),
    ) -> None:
        super().__init__()
        layers, channels = [], in_channels
        stride = 2 if downsample == "stride" else 1
        for width in widths:
            layers += [
                nn.Conv2d(channels, width, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            if downsample == "maxpool":
                layers.append(nn.MaxPool2d(2))
            channels = width
        self.features = nn.Sequential(*layers)
        if head == "flatten":
            with torch.no_grad():
                features = self.features.eval()(torch.zeros(1, in_channels, *image_size)).numel()
            self.features.train()
            self.pool = nn.Identity()
        else:
            features, self.pool = channels, nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


class _WideBasicBlock(nn.Module):
    """Pre-activation residual block of Zagoruyko & Komodakis (2016), with a 1x1 projection when shapes change."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


class WideResNet(nn.Module):
    """WRN-d-k for 32x32 images: three groups of (d - 4) / 6 blocks with 16k, 32k, 64k channels."""

    def __init__(self, depth: int, widen_factor: int, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        blocks, in_planes = [], widths[0]
        for group, stride in zip(range(3), (1, 2, 2)):
            for i in range(n):
                blocks.append(_WideBasicBlock(in_planes, widths[group + 1], stride if i == 0 else 1))
                in_planes = widths[group + 1]
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(in_planes)
        self.classifier = nn.Linear(in_planes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn(self.blocks(self.conv1(x))))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))


def build_model(settings: ModelSettings, image_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """A freshly initialised model (seed the global RNG first for a reproducible initialisation)."""
    in_channels = image_shape[0]
    if settings.arch == "small-cnn":
        return SmallCNN(
            in_channels, num_classes, tuple(settings.widths), settings.downsample, settings.head, image_shape[1:]
        )
    if settings.arch == "wrn":
        return WideResNet(settings.depth, settings.widen_factor, num_classes, in_channels)
    from torchvision.models import resnet50

    # zero_init_residual: torchvision zeroes bn3 (the gamma of the batch norm before the addition) of
    # every bottleneck block, as the authors' resnet_model.py does with init_zero=True
    return resnet50(weights=None, num_classes=num_classes, zero_init_residual=settings.zero_init_residual)


def multiply_adds(model: nn.Module, image_shape: tuple[int, int, int]) -> int:
    """Multiply-adds of one forward pass on one image, counted over convolution and linear layers (a training
    step costs about three times as many: forward, and the gradients of the inputs and of the weights)."""
    total = 0

    def count(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += output[0].numel() * kernel
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *image_shape))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total


def inference_model(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with every batch norm folded into the convolution before it (the same
    function, one pass over memory less: 1.15x the images/s of the default CNN on a CPU), for evaluation
    only; the model itself where it cannot be traced (then nothing is folded)."""
    from torch.fx.experimental.optimization import fuse

    if getattr(model, "quantized", False):  # compression's float16 and int8 models: nothing left to fold
        return model.eval()
    try:
        return fuse(model.eval()).to(memory_format=torch.channels_last)
    except Exception:  # whatever stops the tracing: evaluate the model as it is
        return model.eval()
