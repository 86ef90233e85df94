"""The compression methods a population can be made with, beyond the paper's layer-wise magnitude pruning.

Pruning methods (``magnitude``, ``magnitude-global``, ``random``) train each model to its sparsity with the
same gradual schedule; they differ in the scores a mask keeps the largest of (weight magnitudes, or random
numbers fixed at the start) and in whether the ranking is per layer or across layers. Quantization methods
(``quantize-fp16``, ``quantize-int8``) convert trained dense models after training: their levels are bit
widths, not sparsities. ``quantize`` returns a module that takes and returns float32 like the model it
converts, so prediction, the analysis and the robustness evaluation treat every method alike.
"""

from __future__ import annotations

import copy
import hashlib
import warnings
from collections.abc import Iterable

import torch
from torch import nn

from pruning_impact.foundations.settings import PRUNING_METHODS

SCOPES = {"magnitude": "layer", "magnitude-global": "global", "random": "layer"}
CALIBRATION_BATCHES = 4  # training batches that set the int8 activations' ranges (seeded: always the same)


def scope_of(method: str) -> str:
    """How a pruning method's masks are ranked: ``layer`` (every tensor to the target) or ``global``."""
    return SCOPES.get(method, "layer")


def mask_seed(seed: int) -> int:
    """The seed of a model's random mask scores, derived from its own seed but not equal to it: the model's
    weights are drawn from ``seed`` too, and scores from the same stream would follow the initial weights."""
    return int(hashlib.sha256(f"{seed}/random-mask".encode()).hexdigest()[:8], 16)


def random_scores(weights: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One uniform random number per weight, drawn once: a random mask keeps the largest of these, so the masks
    of the gradual schedule are nested (a weight pruned at random stays pruned) and every layer has its exact
    count, as with magnitudes."""
    return {
        name: torch.rand(w.shape, generator=generator).to(w.device, memory_format=torch.contiguous_format)
        for name, w in weights.items()
    }


def check_pruning_method(method: str) -> None:
    if method not in PRUNING_METHODS:
        raise ValueError(f"{method!r} is not a pruning method; use one of {', '.join(PRUNING_METHODS)}")


# ----------------------------------------------------------------------------- quantization


def _round_to_half(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return output.half().float()


class HalfPrecision(nn.Module):
    """A copy of a model computing as float16 hardware does: weights, batch-norm statistics, the input and the
    output of every layer stored as float16 numbers, each layer's sums accumulated in float32 (as GPUs'
    float16 units do; CPUs without float16 arithmetic would otherwise emulate it at a tenth of the speed).
    Float32 in, float32 out; autocast off so that no other number type enters."""

    quantized = True

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).eval()
        with torch.no_grad():
            for tensor in [*self.model.parameters(), *self.model.buffers()]:
                if tensor.is_floating_point():
                    tensor.copy_(tensor.half().float())
        for module in self.model.modules():
            if not list(module.children()):  # every layer (leaf module)
                module.register_forward_hook(_round_to_half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return self.model(x.float().half().float())


class Int8(nn.Module):
    """A model converted to int8 by post-training static quantization (PyTorch's FX graph mode with the x86
    back end: int8 weights per channel, int8 activations with ranges observed on calibration images)."""

    quantized = True

    def __init__(self, quantized: nn.Module) -> None:
        super().__init__()
        self.network = quantized

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return self.network(x.float().contiguous())


def quantize(model: nn.Module, bits: int, calibration: Iterable[torch.Tensor]) -> nn.Module:
    """A quantized copy of a trained float model, on the CPU: ``bits`` 16 (float16) or 8 (int8, its activation
    ranges observed on the ``calibration`` batches). The attacks of the robustness evaluation take their
    gradients from ``attack_model``, the float model (int8 arithmetic has no gradient)."""
    model = copy.deepcopy(model).cpu().eval().to(memory_format=torch.contiguous_format)
    if bits == 16:
        converted = HalfPrecision(model)
    elif bits == 8:
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        batches = [x.cpu().float().contiguous() for x in calibration]
        if not batches:
            raise ValueError("int8 quantization needs at least one calibration batch")
        torch.backends.quantized.engine = "x86" if "x86" in torch.backends.quantized.supported_engines else "qnnpack"
        with warnings.catch_warnings():  # FX quantization announces its move to torchao
            warnings.simplefilter("ignore")
            prepared = prepare_fx(model, get_default_qconfig_mapping(torch.backends.quantized.engine), (batches[0],))
            with torch.no_grad():
                for x in batches:
                    prepared(x)
            converted = Int8(convert_fx(prepared))
    else:
        raise ValueError(f"no quantization to {bits} bits; use 16 or 8")
    object.__setattr__(converted, "attack_model", model)  # a plain attribute: not a submodule, not in state_dict
    return converted.eval()


def attack_model(model: nn.Module) -> nn.Module:
    """The model whose gradients an attack follows: the float original of a quantized model, else itself."""
    return model.__dict__.get("attack_model", model)
