"""Frozen settings: what data, model, training and pruning produce a population's models, and how many
there are at each level (``Settings``, built by a named profile in ``profiles``).

Every field carries a one-line description (``described``). Fields marked ``hashed=False`` change
where or how fast a run goes, not what it computes, and are left out of the settings hash that
names a population's directory; so are fields still at their defaults, so that a new option added
later does not orphan finished runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.described import Described, describe, one_of, require, require_within
from pruning_impact.foundations.errors import SettingsError

DATASETS = ("fashion-mnist", "cifar10", "imagenet", "synthetic")
ARCHITECTURES = ("small-cnn", "wrn", "resnet50")
DOWNSAMPLING = ("maxpool", "stride")
HEADS = ("avgpool", "flatten")
LR_SCHEDULES = ("onecycle", "step")
# how a population's compressed models are made from the dense recipe (``compression``): pruning methods train
# to each sparsity; quantization methods convert the dense models after training, at one bit width each
PRUNING_METHODS = ("magnitude", "magnitude-global", "random")
QUANTIZATION_BITS = {"quantize-fp16": 16, "quantize-int8": 8}
METHODS = PRUNING_METHODS + tuple(QUANTIZATION_BITS)
DEFAULT_METHOD = "magnitude"
LEGACY_SCOPES = ("layer", "global")  # pruning.scope, which magnitude-global replaced
UPDATE_RULES = ("masked", "straight_through")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DataSettings(Described):
    SECTION: ClassVar[str] = "data"

    dataset: str = describe("fashion-mnist", "Dataset: fashion-mnist, cifar10, imagenet or synthetic.")
    data_dir: str = describe("data", "Folder where dataset files are looked for and downloaded to.", hashed=False)
    augment: bool = describe(False, "Apply the dataset's usual training augmentation (crop and flip).")
    train_subset: int | None = describe(None, "Train on the first n training examples only (none: all).")
    test_subset: int | None = describe(None, "Evaluate on the first n test examples only (none: all).")
    num_workers: int = describe(4, "Loader worker processes for folder datasets (ImageNet).", hashed=False)

    def check(self) -> None:
        one_of(self.dataset, DATASETS, "data.dataset")
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            require(
                value is None or (isinstance(value, int) and value >= 1),
                f"data.{name}",
                f"{value!r} must be None or a positive whole number",
            )
        require(self.num_workers >= 0, "data.num_workers", "must be >= 0")


@dataclass(frozen=True)
class ModelSettings(Described):
    SECTION: ClassVar[str] = "model"

    arch: str = describe("small-cnn", "Architecture: small-cnn, wrn (Wide ResNet) or resnet50.")
    widths: tuple[int, ...] = describe((16, 32, 64), "Channels of the small CNN's convolution blocks.")
    downsample: str = describe(
        "maxpool", "Small CNN: halve the resolution in each block by a 2x2 max-pool or by a stride-2 convolution."
    )
    head: str = describe(
        "avgpool", "Small CNN: global average pool before the classifier, or flatten the last feature map."
    )
    depth: int = describe(28, "Wide ResNet depth d (6n + 4).")
    widen_factor: int = describe(10, "Wide ResNet widening factor k.")
    zero_init_residual: bool = describe(
        False, "ResNet-50 only: start the last batch norm of each residual block at gamma = 0 (Goyal et al.)."
    )

    def check(self) -> None:
        one_of(self.arch, ARCHITECTURES, "model.arch")
        one_of(self.downsample, DOWNSAMPLING, "model.downsample")
        one_of(self.head, HEADS, "model.head")
        require(
            len(self.widths) >= 1 and all(int(w) >= 1 for w in self.widths),
            "model.widths",
            f"{self.widths!r} must be one or more positive channel counts",
        )
        require(
            (self.depth - 4) % 6 == 0 and self.depth >= 10,
            "model.depth",
            f"{self.depth} must be 6n + 4 with n >= 1 (e.g. 16, 28, 40)",
        )
        require(self.widen_factor >= 1, "model.widen_factor", "must be >= 1")
        require(
            not self.zero_init_residual or self.arch == "resnet50",
            "model.zero_init_residual",
            f"applies to resnet50 only, not {self.arch}: the Wide ResNet's pre-activation blocks end in a "
            "convolution, with no batch norm before the addition to zero, and the small CNN has no residual blocks",
        )


@dataclass(frozen=True)
class TrainSettings(Described):
    SECTION: ClassVar[str] = "training"

    steps: int = describe(702, "Optimizer steps in total (the pruning schedule counts in these).")
    batch_size: int = describe(256, "Training batch size.")
    lr: float = describe(0.4, "Peak learning rate of SGD with Nesterov momentum.")
    momentum: float = describe(0.9, "SGD momentum.")
    weight_decay: float = describe(5e-4, "L2 weight decay, as SGD applies it (see bn_weight_decay).")
    bn_weight_decay: bool = describe(
        True, "Weight decay also on batch-norm weights and biases (false: on every other parameter only)."
    )
    lr_schedule: str = describe("onecycle", "onecycle (linear up, cosine down) or step (warm-up, then decays).")
    warmup_steps: int = describe(0, "Linear warm-up steps of the step schedule.")
    lr_milestones: tuple[float, ...] = describe(
        (0.3, 0.6, 0.8), "Step schedule: fractions of training where lr decays."
    )
    lr_gamma: float = describe(0.2, "Step schedule: factor applied to lr at each milestone.")
    label_smoothing: float = describe(0.0, "Label smoothing of the cross-entropy loss.")
    eval_batch_size: int = describe(
        128, "Batch size when predicting the test set (small batches stay in cache).", hashed=False
    )
    device: str = describe("auto", "auto (CUDA when present, else CPU), cpu or cuda.", hashed=False, choices=DEVICES)
    amp: bool = describe(
        True,
        "Mixed precision: float16 autocast on CUDA, bfloat16 on a CPU that computes it natively (AVX512-BF16, AMX).",
    )
    checkpoints: int = describe(
        0,
        "Checkpoints kept of each dense model, evenly spaced over training (0: none); the variance of gradients "
        "(VoG) of the test images is computed from them.",
        hashed=False,
    )
    models_per_step: int = describe(
        1,
        "Small CNN: models trained together as one network of grouped layers, to fill a GPU that one small "
        "model leaves idle (each trains as it would alone, up to rounding).",
        hashed=False,
    )

    def check(self) -> None:
        require(self.steps >= 1, "training.steps", f"{self.steps} must be >= 1")
        require(self.batch_size >= 1, "training.batch_size", f"{self.batch_size} must be >= 1")
        require(self.eval_batch_size >= 1, "training.eval_batch_size", "must be >= 1")
        require(self.checkpoints >= 0, "training.checkpoints", f"{self.checkpoints} must be >= 0")
        require(self.models_per_step >= 1, "training.models_per_step", f"{self.models_per_step} must be >= 1")
        require(self.lr > 0, "training.lr", f"{self.lr} must be > 0")
        require(0 <= self.momentum < 1, "training.momentum", f"{self.momentum} must be in [0, 1)")
        require(self.weight_decay >= 0, "training.weight_decay", "must be >= 0")
        one_of(self.lr_schedule, LR_SCHEDULES, "training.lr_schedule")
        require(0 <= self.warmup_steps < self.steps, "training.warmup_steps", "must be in [0, steps)")
        require(
            all(0 < m < 1 for m in self.lr_milestones),
            "training.lr_milestones",
            f"{self.lr_milestones!r} must be fractions strictly between 0 and 1",
        )
        require(0 < self.lr_gamma <= 1, "training.lr_gamma", "must be in (0, 1]")
        require(0 <= self.label_smoothing < 1, "training.label_smoothing", "must be in [0, 1)")
        one_of(self.device, DEVICES, "training.device")


@dataclass(frozen=True)
class PruningSettings(Described):
    SECTION: ClassVar[str] = "pruning"

    begin_step: int = describe(70, "Step of the first mask update (Zhu & Gupta's begin_step).")
    end_step: int = describe(421, "Step of the last mask update; the mask is fixed after it.")
    frequency: int = describe(10, "Steps between mask updates inside [begin_step, end_step].")
    initial_sparsity: float = describe(0.0, "Sparsity at begin_step (s_i).")
    power: float = describe(3.0, "Exponent of the polynomial decay towards the final sparsity.")
    update: str = describe("masked", "masked (authors' code: pruned weights get no loss gradient) or straight_through.")
    prune_final_layer: bool = describe(False, "Also prune the final classifier (the authors' code does not).")

    def check(self) -> None:
        require(self.begin_step >= 0, "pruning.begin_step", f"{self.begin_step} must be >= 0")
        require(
            self.begin_step < self.end_step,
            "pruning.begin_step",
            f"begin_step {self.begin_step} must be smaller than end_step {self.end_step}",
        )
        require(self.frequency >= 1, "pruning.frequency", f"{self.frequency} must be >= 1")
        require(0 <= self.initial_sparsity < 1, "pruning.initial_sparsity", "must be in [0, 1)")
        require(self.power > 0, "pruning.power", "must be > 0")
        one_of(self.update, UPDATE_RULES, "pruning.update")


@dataclass(frozen=True)
class PopulationSettings(Described):
    SECTION: ClassVar[str] = "population"

    sparsities: tuple[float, ...] = describe(
        (0.0, 0.1, 0.3, 0.5, 0.7, 0.9), "Final sparsities t; 0 is the dense reference.", hashed=False
    )
    population_size: int = describe(10, "K: models trained at each sparse level.", hashed=False)
    dense_population_size: int | None = describe(
        None,
        "Models at sparsity 0 (none: K); 3K gives K each for the reference, its noise-floor partner and held-out "
        "scoring.",
        hashed=False,
    )
    seed: int = describe(0, "Base seed; each model's seed derives from it, its sparsity and its index.")
    method: str = describe(
        DEFAULT_METHOD,
        "How the compressed models are made: magnitude (the paper's, layer by layer), magnitude-global (one "
        "threshold across layers), random (random masks, same per-layer sparsity and schedule), quantize-fp16 or "
        "quantize-int8 (the dense models converted after training; the levels are then dense and the bit width).",
        choices=METHODS,
    )

    def check(self) -> None:
        one_of(self.method, METHODS, "population.method")
        require(len(self.sparsities) >= 1, "population.sparsities", "give at least one sparsity")
        require_within(self.sparsities, "population.sparsities", minimum=0, below=1)
        require(len(set(self.sparsities)) == len(self.sparsities), "population.sparsities", "a sparsity is repeated")
        require_within(self.population_size, "population.population_size", minimum=1)
        if self.dense_population_size is not None:
            require_within(self.dense_population_size, "population.dense_population_size", minimum=1)
        require_within(self.seed, "population.seed", minimum=0)
        if self.quantization_bits is not None:
            problem = self.dense_split.partners_problem(
                f"{self.method} (it converts the partners, dense models K..2K-1)"
            )
            require(problem is None, "population.dense_population_size", problem or "")

    @property
    def quantization_bits(self) -> int | None:
        """The bit width of a quantization method; None for the pruning methods."""
        return QUANTIZATION_BITS.get(self.method)

    @property
    def levels(self) -> tuple[float, ...]:
        """The population's levels: its sparsities for a pruning method; the dense level and the bit width
        (16.0 or 8.0) for a quantization method, whose ``sparsities`` are not used."""
        bits = self.quantization_bits
        return self.sparsities if bits is None else (0.0, float(bits))

    @property
    def compressed_levels(self) -> tuple[float, ...]:
        """Every level but the dense one."""
        return tuple(level for level in self.levels if level != 0)

    def size_at(self, sparsity: float) -> int:
        """How many models the population has at this sparsity."""
        if sparsity == 0 and self.dense_population_size is not None:
            return self.dense_population_size
        return self.population_size

    @property
    def total_models(self) -> int:
        """Models of every level together."""
        return sum(self.size_at(level) for level in self.levels)

    @property
    def dense_split(self) -> DenseSplit:
        """What each dense model is for (reference, partners, floor pool, held out), for groups of K."""
        return DenseSplit(self.size_at(0.0), self.population_size)

    @property
    def reference_size(self) -> int:
        """Dense models in the reference of every comparison (``DenseSplit.reference``)."""
        return self.dense_split.reference.stop

    @property
    def floor_pool_size(self) -> int:
        """The first dense models, whose random splits give every noise floor (``DenseSplit.floor_pool``)."""
        return self.dense_split.floor_pool.stop

    @property
    def held_out_size(self) -> int:
        """Dense models after the floor pool, which define nothing and score every set (``DenseSplit.held_out``)."""
        held_out = self.dense_split.held_out
        return held_out.stop - held_out.start


@dataclass(frozen=True)
class ResourceSettings(Described):
    """What each task of a distributed executor (Ray) asks of its node; none of it changes results."""

    SECTION: ClassVar[str] = "resources"

    cpus_per_task: int = describe(
        1,
        "CPUs each task (one model to train or evaluate) asks for on a Ray cluster; it runs with that many threads.",
        hashed=False,
    )
    gpus_per_task: float = describe(
        0.0,
        "GPUs each task asks for on a Ray cluster (1 for the paper's profiles; a fraction shares a GPU).",
        hashed=False,
    )
    max_retries: int = describe(
        3, "Times a task whose worker or node died is started again before its run is reported failed.", hashed=False
    )

    def check(self) -> None:
        require(self.cpus_per_task >= 1, "resources.cpus_per_task", f"{self.cpus_per_task} must be >= 1")
        require(self.gpus_per_task >= 0, "resources.gpus_per_task", f"{self.gpus_per_task} must be >= 0")
        require(self.max_retries >= 0, "resources.max_retries", f"{self.max_retries} must be >= 0")


SECTIONS = {
    "data": DataSettings,
    "model": ModelSettings,
    "training": TrainSettings,
    "pruning": PruningSettings,
    "population": PopulationSettings,
    "resources": ResourceSettings,
}


@dataclass(frozen=True)
class Settings:
    """Everything that defines a population; built by a named profile (see ``profiles``)."""

    profile: str
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    training: TrainSettings = field(default_factory=TrainSettings)
    pruning: PruningSettings = field(default_factory=PruningSettings)
    population: PopulationSettings = field(default_factory=PopulationSettings)
    resources: ResourceSettings = field(default_factory=ResourceSettings)

    def __post_init__(self) -> None:
        require(
            self.population.method != "random" or self.training.models_per_step == 1,
            "training.models_per_step",
            "random masks are drawn per model trained alone: set models_per_step to 1 for population.method random",
        )
        require(
            self.pruning.end_step < self.training.steps,
            "pruning.end_step",
            f"end_step {self.pruning.end_step} must be smaller than training.steps {self.training.steps}",
        )

    def replace(self, **sections: dict[str, Any]) -> Settings:
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
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Rebuild settings saved with ``to_dict`` (lists become tuples again)."""
        sections = {}
        for name, section_cls in SECTIONS.items():
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.get(name, {}).items()}
            # saved before population.method replaced pruning.scope
            scope = values.pop("scope", "layer") if name == "pruning" else "layer"
            require(scope in LEGACY_SCOPES, "pruning.scope", f"{scope!r} is not one of {', '.join(LEGACY_SCOPES)}")
            if scope == "global":
                data = {**data, "population": {**data.get("population", {}), "method": "magnitude-global"}}
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
        if out.get("population.method") == "magnitude-global":  # its name before methods: its folder stays
            del out["population.method"]
            out["pruning.scope"] = "global"
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
