"""Frozen settings: what data, model, training and pruning produce a population's models, and the
options of the analysis and of the robustness evaluation run on it.

Every field carries a one-line description (``describe``), from which the command line builds its
flags and documentation. Values are normalised to the declared types when a dataclass is built,
so a value typed by a user (``"4"``, ``"none"``, ``"0 0.5 0.9"``) means the same wherever it
enters: the command line, a notebook parameter or Python. Fields marked ``hashed=False`` change
where or how fast a run goes, not what it computes, and are left out of the settings hash that
names a population's directory; so are fields still at their defaults, so that a new option added
later does not orphan finished runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from .errors import SettingsError

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
CORRECTIONS = ("fdr_bh", "bonferroni")  # besides none, the paper's uncorrected test
SHIFTS = ("model", "population")  # what the class test subtracts: each model's top-1 (paper) or its population's
# Hendrycks & Dietterich's 15 corruptions, in their order (the order seeds each corruption's randomness)
CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "speckle_noise",
    "defocus_blur",
    "gaussian_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
# Corruptions of ImageNet-C and CIFAR-10-C that overlay photographs (snowflakes, frost) this project cannot
# generate: known names, evaluated only from a published set in the data folder (robustness_sets)
PUBLISHED_ONLY_CORRUPTIONS = ("snow", "frost")
KNOWN_CORRUPTIONS = CORRUPTIONS + PUBLISHED_ONLY_CORRUPTIONS
ATTACKS = ("fgsm", "pgd")
NONE_WORDS = ("none", "null", "")


def describe(
    default: Any, help: str, hashed: bool = True, choices: tuple | None = None, flag: str | None = None
) -> Any:
    """A dataclass field with its description; ``hashed=False`` keeps it out of the run hash, ``choices``
    lists its allowed values and ``flag`` names its command-line flag when the field name would clash."""
    return field(default=default, metadata={"help": help, "hashed": hashed, "choices": choices, "flag": flag})


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise SettingsError(f"invalid setting {name}: {message}")


def _one_of(value: Any, allowed: tuple, name: str) -> None:
    _require(value in allowed, name, f"{value!r} is not one of {', '.join(map(repr, allowed))}")


# ----------------------------------------------------------------------------- user values


def _type_name(hint: Any) -> str:
    if get_origin(hint) is tuple:
        return f"a list of {_type_name(get_args(hint)[0])}s"
    return {int: "whole number", float: "number", bool: "true/false value", str: "text"}.get(hint, str(hint))


def convert(hint: Any, value: Any, name: str) -> Any:
    """``value`` as type ``hint``: the one normalisation of user values. ``"none"`` is None where None is
    allowed; a list may come as a sequence or as text (``"0 0.5 0.9"``, ``"[0, 0.5, 0.9]"``); numbers may
    come as text. A value that cannot be read raises a ``SettingsError`` naming the setting."""
    if get_origin(hint) in (Union, types.UnionType):
        choices = get_args(hint)
        if type(None) in choices and (
            value is None or (isinstance(value, str) and value.strip().lower() in NONE_WORDS)
        ):
            return None
        return convert(next(a for a in choices if a is not type(None)), value, name)
    if get_origin(hint) is tuple:
        item = get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            value = [value]
        # text items may hold several values ("0 0.5", "fog,contrast", "[0, 0.5]")
        value = [
            part for v in value for part in (re.split(r"[\s,\[\]()]+", v) if isinstance(v, str) else [v]) if part != ""
        ]
        return tuple(convert(item, v, name) for v in value)
    try:
        if hint is bool:
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.strip().lower() in ("true", "yes", "1")
            if isinstance(value, bool):
                return value
        elif hint is int and not isinstance(value, bool):
            number = float(value) if isinstance(value, str) and not value.strip().lstrip("+-").isdigit() else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            return int(number)
        elif hint is float and not isinstance(value, bool):
            return float(value)
        elif hint is str and isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise SettingsError(f"invalid setting {name}: {value!r} is not a {_type_name(hint)}")


@cache
def type_hints(cls: type) -> dict[str, Any]:
    """A dataclass's field types, resolved (this module's annotations are strings)."""
    return get_type_hints(cls)


class Described:
    """Base of the frozen dataclasses below: values are normalised to their declared types, then checked."""

    SECTION: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = type_hints(type(self))
        for f in fields(self):
            object.__setattr__(self, f.name, convert(hints[f.name], getattr(self, f.name), self.label(f.name)))
        self.check()

    @classmethod
    def label(cls, name: str) -> str:
        """How error messages name a field: ``section.field``."""
        return f"{cls.SECTION}.{name}" if cls.SECTION else name

    def check(self) -> None:
        """Raise a ``SettingsError`` naming the first field whose value is not allowed."""

    def non_default(self) -> dict[str, Any]:
        """The fields that differ from their defaults (what a user changed)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


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
        _one_of(self.dataset, DATASETS, "data.dataset")
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            _require(
                value is None or (isinstance(value, int) and value >= 1),
                f"data.{name}",
                f"{value!r} must be None or a positive whole number",
            )
        _require(self.num_workers >= 0, "data.num_workers", "must be >= 0")


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
        _one_of(self.arch, ARCHITECTURES, "model.arch")
        _one_of(self.downsample, DOWNSAMPLING, "model.downsample")
        _one_of(self.head, HEADS, "model.head")
        _require(
            len(self.widths) >= 1 and all(int(w) >= 1 for w in self.widths),
            "model.widths",
            f"{self.widths!r} must be one or more positive channel counts",
        )
        _require(
            (self.depth - 4) % 6 == 0 and self.depth >= 10,
            "model.depth",
            f"{self.depth} must be 6n + 4 with n >= 1 (e.g. 16, 28, 40)",
        )
        _require(self.widen_factor >= 1, "model.widen_factor", "must be >= 1")
        _require(
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
        _require(self.steps >= 1, "training.steps", f"{self.steps} must be >= 1")
        _require(self.batch_size >= 1, "training.batch_size", f"{self.batch_size} must be >= 1")
        _require(self.eval_batch_size >= 1, "training.eval_batch_size", "must be >= 1")
        _require(self.checkpoints >= 0, "training.checkpoints", f"{self.checkpoints} must be >= 0")
        _require(self.models_per_step >= 1, "training.models_per_step", f"{self.models_per_step} must be >= 1")
        _require(self.lr > 0, "training.lr", f"{self.lr} must be > 0")
        _require(0 <= self.momentum < 1, "training.momentum", f"{self.momentum} must be in [0, 1)")
        _require(self.weight_decay >= 0, "training.weight_decay", "must be >= 0")
        _one_of(self.lr_schedule, LR_SCHEDULES, "training.lr_schedule")
        _require(0 <= self.warmup_steps < self.steps, "training.warmup_steps", "must be in [0, steps)")
        _require(
            all(0 < m < 1 for m in self.lr_milestones),
            "training.lr_milestones",
            f"{self.lr_milestones!r} must be fractions strictly between 0 and 1",
        )
        _require(0 < self.lr_gamma <= 1, "training.lr_gamma", "must be in (0, 1]")
        _require(0 <= self.label_smoothing < 1, "training.label_smoothing", "must be in [0, 1)")
        _one_of(self.device, DEVICES, "training.device")


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
        _require(self.begin_step >= 0, "pruning.begin_step", f"{self.begin_step} must be >= 0")
        _require(
            self.begin_step < self.end_step,
            "pruning.begin_step",
            f"begin_step {self.begin_step} must be smaller than end_step {self.end_step}",
        )
        _require(self.frequency >= 1, "pruning.frequency", f"{self.frequency} must be >= 1")
        _require(0 <= self.initial_sparsity < 1, "pruning.initial_sparsity", "must be in [0, 1)")
        _require(self.power > 0, "pruning.power", "must be > 0")
        _one_of(self.update, UPDATE_RULES, "pruning.update")


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
        _one_of(self.method, METHODS, "population.method")
        _require(len(self.sparsities) >= 1, "population.sparsities", "give at least one sparsity")
        for s in self.sparsities:
            _require(isinstance(s, (int, float)) and 0 <= s < 1, "population.sparsities", f"{s!r} is outside [0, 1)")
        _require(
            len(set(self.sparsities)) == len(self.sparsities),
            "population.sparsities",
            f"{self.sparsities!r} repeats a value",
        )
        _require(
            isinstance(self.population_size, int) and self.population_size >= 1,
            "population.population_size",
            f"K = {self.population_size!r} must be >= 1",
        )
        _require(
            self.dense_population_size is None or self.dense_population_size >= 1,
            "population.dense_population_size",
            f"{self.dense_population_size!r} must be >= 1",
        )
        _require(
            self.quantization_bits is None or self.size_at(0.0) >= 2 * self.population_size,
            "population.dense_population_size",
            f"{self.method} converts the reference's partners, dense models K..2K-1: it needs at least 2K = "
            f"{2 * self.population_size} dense models, not {self.size_at(0.0)}",
        )

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
    def reference_size(self) -> int:
        """Dense models used as the reference of every comparison: K when the dense population holds
        at least 2K (the rest give noise floors at the same size), else all of them."""
        k, k_dense = self.population_size, self.size_at(0.0)
        return k if k_dense >= 2 * k else k_dense

    @property
    def floor_pool_size(self) -> int:
        """The first dense models, whose random splits into two groups give every noise floor: 2K when the
        dense population holds at least 2K (the reference and its partner), else all of them."""
        k, k_dense = self.population_size, self.size_at(0.0)
        return 2 * k if k_dense >= 2 * k else k_dense

    @property
    def held_out_size(self) -> int:
        """Dense models after the floor pool: they define nothing and score the PIE and noise-floor sets."""
        return self.size_at(0.0) - self.floor_pool_size


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
        _require(self.cpus_per_task >= 1, "resources.cpus_per_task", f"{self.cpus_per_task} must be >= 1")
        _require(self.gpus_per_task >= 0, "resources.gpus_per_task", f"{self.gpus_per_task} must be >= 0")
        _require(self.max_retries >= 0, "resources.max_retries", f"{self.max_retries} must be >= 0")


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
        _require(
            self.population.method != "random" or self.training.models_per_step == 1,
            "training.models_per_step",
            "random masks are drawn per model trained alone: set models_per_step to 1 for population.method random",
        )
        _require(
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
            _require(scope in LEGACY_SCOPES, "pruning.scope", f"{scope!r} is not one of {', '.join(LEGACY_SCOPES)}")
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


def flag(cls: type, name: str) -> str:
    """The command-line flag of a field: ``--field-name``, or the field's own ``flag`` where names clash."""
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    return "--" + (meta.get("flag") or name.replace("_", "-"))


def field_help(cls: type) -> dict[str, str]:
    """Field name -> description, for documentation and the command line."""
    return {f.name: f.metadata.get("help", "") for f in fields(cls)}


# ----------------------------------------------------------------------------- options of the later stages


@dataclass(frozen=True)
class AnalysisOptions(Described):
    """Choices of the analysis that change its tables.

    The population sizes come from the population's settings, not from here.
    """

    correction: str | None = describe(
        "fdr_bh",
        "Multiple-comparison correction shown beside the paper's uncorrected test: fdr_bh, bonferroni or none.",
        choices=CORRECTIONS,
    )
    alpha: float = describe(0.05, "Significance level of the class-level tests and of every verdict.")
    shift: str = describe(
        "model",
        "Class test: subtract each model's top-1 (model, the paper's text) or its population's mean (population, "
        "the authors' code).",
        choices=SHIFTS,
    )
    repeats: int = describe(200, "Random splits of the dense population behind each noise floor.")
    permutations: int = describe(
        1000, "Random re-splits of the reference and each level's models behind the PIE tests (permutation tests)."
    )
    random_samples: int = describe(100, "Random test samples as large as PIE_t, per t, in the PIE evaluation.")
    seed: int = describe(0, "Seed of the random dense splits and random samples.", flag="analysis-seed")

    def check(self) -> None:
        if self.correction is not None and self.correction not in CORRECTIONS:
            raise SettingsError(f"unknown correction {self.correction!r}; use one of none, {', '.join(CORRECTIONS)}")
        if not 0 < self.alpha < 1:
            raise SettingsError(f"alpha {self.alpha} must lie strictly between 0 and 1")
        if self.shift not in SHIFTS:
            raise SettingsError(f"unknown shift {self.shift!r}; use one of {', '.join(SHIFTS)}")
        if self.repeats < 1 or self.random_samples < 1 or self.permutations < 1:
            raise SettingsError("repeats, permutations and random_samples must be >= 1")

    @property
    def correction_label(self) -> str:
        """The correction as the tables name it: ``none`` for the paper's uncorrected test."""
        return self.correction or "none"


@dataclass(frozen=True)
class RobustnessOptions(Described):
    """What the robustness evaluation covers.

    Together with the corruption constants' version, these options name the cached predictions.
    """

    corruptions: tuple[str, ...] = describe(
        CORRUPTIONS,
        "Corruptions evaluated (Hendrycks & Dietterich's names); snow and frost only from a published set "
        "(CIFAR-10-C, ImageNet-C in the data folder), which the default then adds.",
        choices=KNOWN_CORRUPTIONS,
    )
    severities: tuple[int, ...] = describe((1, 2, 3, 4, 5), "Corruption severities evaluated, from 1 to 5.")
    subsample: int | None = describe(1000, "Test images per corrupted set, a fixed seeded subsample (none: all).")
    epsilons: tuple[float, ...] = describe(
        (0.01, 0.03, 0.1), "L-infinity radii of the attacks, in pixels on a 0-1 scale."
    )
    attacks: tuple[str, ...] = describe(ATTACKS, "Adversarial attacks: fgsm, pgd.", choices=ATTACKS)
    adversarial_subsample: int | None = describe(
        250, "Test images attacked per model, a fixed seeded subsample (none: all)."
    )
    pgd_steps: int = describe(10, "Steps of the PGD attack.")
    models_per_level: int | None = describe(
        None, "Models evaluated per level (none: the dense reference models and every sparse model)."
    )
    seed: int = describe(
        0, "Seed of the subsamples, of the corruptions' randomness and of PGD's random start.", flag="robustness-seed"
    )

    def check(self) -> None:
        unknown = set(self.corruptions) - set(KNOWN_CORRUPTIONS)
        if unknown:
            raise SettingsError(
                f"unknown corruption {sorted(unknown)[0]!r}; choose from: {', '.join(KNOWN_CORRUPTIONS)}"
            )
        for name in ("corruptions", "severities", "epsilons", "attacks"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise SettingsError(f"invalid setting {name}: {' '.join(map(str, values))} repeats a value")
        if not self.severities or not set(self.severities) <= {1, 2, 3, 4, 5}:
            raise SettingsError(f"severities {self.severities!r} must be whole numbers from 1 to 5")
        if set(self.attacks) - set(ATTACKS):
            raise SettingsError(f"attacks {self.attacks!r} must be among {ATTACKS}")
        if any(not 0 < e < 1 for e in self.epsilons):
            raise SettingsError(f"epsilons {self.epsilons!r} must lie in (0, 1) (pixel units)")
        for name in ("subsample", "adversarial_subsample", "models_per_level"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SettingsError(f"{name} {value} must be none or >= 1")
        if self.pgd_steps < 1:
            raise SettingsError("pgd_steps must be >= 1")
