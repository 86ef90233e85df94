"""Options of the stages that run on a trained population: the analysis (``AnalysisOptions``) and the
robustness evaluation (``RobustnessOptions``). They change the tables, never the models, so they are not
part of a population's settings or its folder's name; each stage's cache key holds them instead."""

from __future__ import annotations

from dataclasses import dataclass

from pruning_impact.foundations.described import Described, describe
from pruning_impact.foundations.errors import SettingsError

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
# generate: known names, evaluated only from a published set in the data folder (``robustness.shifted_sets``)
PUBLISHED_ONLY_CORRUPTIONS = ("snow", "frost")
KNOWN_CORRUPTIONS = CORRUPTIONS + PUBLISHED_ONLY_CORRUPTIONS
ATTACKS = ("fgsm", "pgd")


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
        None,
        "Models evaluated per level, and of the dense reference and of its partners each (none: the reference, "
        "its partners and every sparse model).",
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
