"""Frozen settings of a population: what data, model, training and pruning produce its models.

Every field carries a one-line description (``describe``). Fields marked ``hashed=False`` change
where or how fast a run goes, not what it computes, and are left out of the settings hash that
names a population's directory; so are fields still at their defaults, so that a new option
added later does not orphan finished runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import SettingsError

DATASETS = ("fashion-mnist", "cifar10", "imagenet", "synthetic")
ARCHITECTURES = ("small-cnn", "wrn", "resnet50")
LR_SCHEDULES = ("onecycle", "step")
PRUNING_SCOPES = ("layer", "global")
UPDATE_RULES = ("masked", "straight_through")
DEVICES = ("auto", "cpu", "cuda")


def describe(default: Any, help: str, hashed: bool = True) -> Any:
    """A dataclass field with its description; ``hashed=False`` keeps it out of the run hash."""
    return field(default=default, metadata={"help": help, "hashed": hashed})


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise SettingsError(f"invalid setting {name}: {message}")


def _one_of(value: Any, allowed: tuple, name: str) -> None:
    _require(value in allowed, name, f"{value!r} is not one of {', '.join(map(repr, allowed))}")


@dataclass(frozen=True)
class DataSettings:
    dataset: str = describe("fashion-mnist", "Dataset: fashion-mnist, cifar10, imagenet or synthetic.")
    data_dir: str = describe("data", "Folder where dataset files are looked for and downloaded to.", hashed=False)
    augment: bool = describe(False, "Apply the dataset's usual training augmentation (crop and flip).")
    train_subset: int | None = describe(None, "Train on the first n training examples only (None: all).")
    test_subset: int | None = describe(None, "Evaluate on the first n test examples only (None: all).")
    num_workers: int = describe(4, "Loader worker processes for folder datasets (ImageNet).", hashed=False)

    def __post_init__(self) -> None:
        _one_of(self.dataset, DATASETS, "data.dataset")
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            _require(value is None or (isinstance(value, int) and value >= 1), f"data.{name}",
                     f"{value!r} must be None or a positive whole number")
        _require(self.num_workers >= 0, "data.num_workers", "must be >= 0")


@dataclass(frozen=True)
class ModelSettings:
    arch: str = describe("small-cnn", "Architecture: small-cnn, wrn (Wide ResNet) or resnet50.")
    widths: tuple[int, ...] = describe((16, 32, 64), "Channels of the small CNN's convolution blocks.")
    depth: int = describe(28, "Wide ResNet depth d (6n + 4).")
    widen_factor: int = describe(10, "Wide ResNet widening factor k.")

    def __post_init__(self) -> None:
        _one_of(self.arch, ARCHITECTURES, "model.arch")
        _require(len(self.widths) >= 1 and all(int(w) >= 1 for w in self.widths), "model.widths",
                 f"{self.widths!r} must be one or more positive channel counts")
        _require((self.depth - 4) % 6 == 0 and self.depth >= 10, "model.depth",
                 f"{self.depth} must be 6n + 4 with n >= 1 (e.g. 16, 28, 40)")
        _require(self.widen_factor >= 1, "model.widen_factor", "must be >= 1")


@dataclass(frozen=True)
class TrainSettings:
    steps: int = describe(702, "Optimizer steps in total (the pruning schedule counts in these).")
    batch_size: int = describe(256, "Training batch size.")
    lr: float = describe(0.4, "Peak learning rate of SGD with Nesterov momentum.")
    momentum: float = describe(0.9, "SGD momentum.")
    weight_decay: float = describe(5e-4, "L2 weight decay (on all parameters, as SGD applies it).")
    lr_schedule: str = describe("onecycle", "onecycle (linear up, cosine down) or step (warm-up, then decays).")
    warmup_steps: int = describe(0, "Linear warm-up steps of the step schedule.")
    lr_milestones: tuple[float, ...] = describe((0.3, 0.6, 0.8), "Step schedule: fractions of training where lr decays.")
    lr_gamma: float = describe(0.2, "Step schedule: factor applied to lr at each milestone.")
    label_smoothing: float = describe(0.0, "Label smoothing of the cross-entropy loss.")
    eval_batch_size: int = describe(128, "Batch size when predicting the test set (small batches stay in cache).", hashed=False)
    device: str = describe("auto", "auto (CUDA when present, else CPU), cpu or cuda.", hashed=False)
    amp: bool = describe(True, "Mixed precision (float16 autocast) when training on CUDA.")

    def __post_init__(self) -> None:
        _require(self.steps >= 1, "training.steps", f"{self.steps} must be >= 1")
        _require(self.batch_size >= 1, "training.batch_size", f"{self.batch_size} must be >= 1")
        _require(self.eval_batch_size >= 1, "training.eval_batch_size", "must be >= 1")
        _require(self.lr > 0, "training.lr", f"{self.lr} must be > 0")
        _require(0 <= self.momentum < 1, "training.momentum", f"{self.momentum} must be in [0, 1)")
        _require(self.weight_decay >= 0, "training.weight_decay", "must be >= 0")
        _one_of(self.lr_schedule, LR_SCHEDULES, "training.lr_schedule")
        _require(0 <= self.warmup_steps < self.steps, "training.warmup_steps", "must be in [0, steps)")
        _require(all(0 < m < 1 for m in self.lr_milestones), "training.lr_milestones",
                 f"{self.lr_milestones!r} must be fractions strictly between 0 and 1")
        _require(0 < self.lr_gamma <= 1, "training.lr_gamma", "must be in (0, 1]")
        _require(0 <= self.label_smoothing < 1, "training.label_smoothing", "must be in [0, 1)")
        _one_of(self.device, DEVICES, "training.device")


@dataclass(frozen=True)
class PruningSettings:
    begin_step: int = describe(70, "Step of the first mask update (Zhu & Gupta's begin_step).")
    end_step: int = describe(421, "Step of the last mask update; the mask is fixed after it.")
    frequency: int = describe(10, "Steps between mask updates inside [begin_step, end_step].")
    initial_sparsity: float = describe(0.0, "Sparsity at begin_step (s_i).")
    power: float = describe(3.0, "Exponent of the polynomial decay towards the final sparsity.")
    scope: str = describe("layer", "layer: every pruned tensor to the target; global: rank all weights together.")
    update: str = describe("masked", "masked (authors' code: pruned weights get no loss gradient) or straight_through.")
    prune_final_layer: bool = describe(False, "Also prune the final classifier (the authors' code does not).")

    def __post_init__(self) -> None:
        _require(self.begin_step >= 0, "pruning.begin_step", f"{self.begin_step} must be >= 0")
        _require(self.begin_step < self.end_step, "pruning.begin_step",
                 f"begin_step {self.begin_step} must be smaller than end_step {self.end_step}")
        _require(self.frequency >= 1, "pruning.frequency", f"{self.frequency} must be >= 1")
        _require(0 <= self.initial_sparsity < 1, "pruning.initial_sparsity", "must be in [0, 1)")
        _require(self.power > 0, "pruning.power", "must be > 0")
        _one_of(self.scope, PRUNING_SCOPES, "pruning.scope")
        _one_of(self.update, UPDATE_RULES, "pruning.update")


@dataclass(frozen=True)
class PopulationSettings:
    sparsities: tuple[float, ...] = describe((0.0, 0.1, 0.3, 0.5, 0.7, 0.9),
                                             "Final sparsities t; 0 is the dense reference.", hashed=False)
    population_size: int = describe(10, "K: models trained at each sparse level.", hashed=False)
    dense_population_size: int | None = describe(
        None, "Models at sparsity 0 (None: K); 2K gives two dense halves for a noise floor.", hashed=False)
    seed: int = describe(0, "Base seed; each model's seed derives from it, its sparsity and its index.")

    def __post_init__(self) -> None:
        _require(len(self.sparsities) >= 1, "population.sparsities", "give at least one sparsity")
        for s in self.sparsities:
            _require(isinstance(s, (int, float)) and 0 <= s < 1, "population.sparsities",
                     f"{s!r} is outside [0, 1)")
        _require(len(set(self.sparsities)) == len(self.sparsities), "population.sparsities",
                 f"{self.sparsities!r} repeats a value")
        _require(isinstance(self.population_size, int) and self.population_size >= 1,
                 "population.population_size", f"K = {self.population_size!r} must be >= 1")
        _require(self.dense_population_size is None or self.dense_population_size >= 1,
                 "population.dense_population_size", f"{self.dense_population_size!r} must be >= 1")

    def size_at(self, sparsity: float) -> int:
        """How many models the population has at this sparsity."""
        if sparsity == 0 and self.dense_population_size is not None:
            return self.dense_population_size
        return self.population_size

    @property
    def reference_size(self) -> int:
        """Dense models used as the reference of every comparison: K when the dense population holds
        at least 2K (the rest give noise floors at the same size), else all of them."""
        k, k_dense = self.population_size, self.size_at(0.0)
        return k if k_dense >= 2 * k else k_dense


SECTIONS = {"data": DataSettings, "model": ModelSettings, "training": TrainSettings,
            "pruning": PruningSettings, "population": PopulationSettings}


@dataclass(frozen=True)
class Settings:
    """Everything that defines a population; built by a named profile (see ``profiles``)."""

    profile: str
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    training: TrainSettings = field(default_factory=TrainSettings)
    pruning: PruningSettings = field(default_factory=PruningSettings)
    population: PopulationSettings = field(default_factory=PopulationSettings)

    def __post_init__(self) -> None:
        _require(self.pruning.end_step < self.training.steps, "pruning.end_step",
                 f"end_step {self.pruning.end_step} must be smaller than training.steps {self.training.steps}")

    def replace(self, **sections: dict[str, Any]) -> "Settings":
        """A copy with some fields changed, e.g. ``replace(population={"population_size": 3})``."""
        changed = {}
        for name, updates in sections.items():
            if name not in SECTIONS:
                raise SettingsError(f"unknown settings section {name!r}; known: {', '.join(SECTIONS)}")
            section = getattr(self, name)
            known = {f.name for f in fields(section)}
            unknown = set(updates) - known
            if unknown:
                raise SettingsError(f"unknown setting {name}.{sorted(unknown)[0]}; known: {', '.join(sorted(known))}")
            changed[name] = dataclasses.replace(section, **updates)
        return dataclasses.replace(self, **changed)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        """Rebuild settings saved with ``to_dict`` (lists become tuples again)."""
        sections = {}
        for name, section_cls in SECTIONS.items():
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.get(name, {}).items()}
            sections[name] = section_cls(**values)
        return cls(profile=data["profile"], **sections)

    def hashed_fields(self) -> dict[str, Any]:
        """The fields that change results and differ from their defaults, as ``section.field``."""
        out = {}
        for name in SECTIONS:
            section = getattr(self, name)
            for f in fields(section):
                value = getattr(section, f.name)
                if f.metadata.get("hashed", True) and value != f.default:
                    out[f"{name}.{f.name}"] = list(value) if isinstance(value, tuple) else value
        return out

    @property
    def hash(self) -> str:
        """Ten hex digits naming this population's results; see ``hashed_fields``."""
        text = json.dumps(self.hashed_fields(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def name(self) -> str:
        """The population's directory name: profile and settings hash."""
        return f"{self.profile}-{self.hash}"


def field_help(section_cls: type) -> dict[str, str]:
    """Field name -> description, for documentation and the CLI."""
    return {f.name: f.metadata.get("help", "") for f in fields(section_cls)}
