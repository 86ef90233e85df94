"""The notebooks' parameters in one place: name, default, type and a one-line description each.

Every notebook's ``parameters`` cell is written from this table (``python -m pruning_impact.book.parameters
notebooks/*.py``; a test fails when a cell drifts from it), so ``papermill --help-notebook`` prints the
same description everywhere. ``read_parameters`` is what the notebooks call first: it converts what
papermill passed (text such as ``"0 0.5 0.9"`` or ``"[0, 0.5, 0.9]"`` for a list, ``"4"`` for a number)
and stops with one message naming the parameter when a value is wrong. The population's parameters are
checked by the population's settings themselves (``PopulationSettings``), as the command line's flags are. ``check_trained`` says which
parameter asks for models that are not trained, and the command that trains them.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pruning_impact.analysis.predictions import dense_level_problem
from pruning_impact.foundations import store
from pruning_impact.foundations.described import bounds_problem, convert
from pruning_impact.foundations.errors import InvalidSettingError, ParameterError, SettingsError
from pruning_impact.foundations.levels import format_level
from pruning_impact.foundations.options import CORRECTIONS, AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import DEFAULT_PROFILE, PROFILES, command_line, get_profile
from pruning_impact.foundations.settings import DEFAULT_METHOD, METHODS, PopulationSettings, Settings
from pruning_impact.verdicts.calibration import BOOK_SIMULATIONS


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter: what papermill shows, and how its value is read and checked."""

    name: str
    default: Any
    kind: str  # the type papermill shows (a type comment: no spaces)
    hint: Any  # the type the value is read as (``described.convert``)
    help: str
    # bounds of numbers (the population's parameters are bounded by ``PopulationSettings`` instead)
    minimum: float | None = None  # smallest value allowed (numbers)
    below: float | None = None  # values must be strictly below this (numbers)
    above: float | None = None  # values must be strictly above this (numbers)

    def line(self) -> str:
        """The parameter's line in a notebook's parameters cell."""
        return f"{self.name} = {json.dumps(self.default) if self.default is not None else 'None'}  # type: {self.kind}  {self.help}"


def _default(options: type, name: str) -> str:
    value = getattr(options(), name)
    return "none" if value is None else str(value)


PREFIX = "robustness_"  # robustness options are passed to notebooks as robustness_<option>
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("profile", DEFAULT_PROFILE, "str", str, "named settings: " + ", ".join(PROFILES)),
        Parameter(
            "results_dir",
            store.DEFAULT_RESULTS,
            "str",
            str,
            "folder of the trained populations, relative to where the notebook runs",
        ),
        Parameter(
            "population_size",
            None,
            "int|None",
            int,
            "K models per sparse level, up to the trained K (None: the profile's)",
        ),
        Parameter(
            "dense_population_size",
            None,
            "int|None",
            int,
            "dense models, up to the trained number (None: the profile's)",
        ),
        Parameter(
            "sparsities",
            None,
            "list|None",
            tuple[float, ...],
            'trained sparsities to show, a list or text such as "0 0.5 0.9" (None: the profile\'s)',
        ),
        Parameter("seed", None, "int|None", int, "base seed of the population (None: the profile's)"),
        Parameter(
            "data_dir", None, "str|None", str, "folder of the dataset, to show test images (None: the profile's)"
        ),
        Parameter(
            "correction",
            None,
            "str|None",
            str | None,
            f'correction beside the uncorrected test: fdr_bh, bonferroni or "none" (None: {_default(AnalysisOptions, "correction")})',
        ),
        Parameter(
            "alpha",
            None,
            "float|None",
            float,
            f"significance level of the tests and verdicts (None: {_default(AnalysisOptions, 'alpha')})",
            below=1,
            above=0,
        ),
        Parameter(
            "repeats",
            None,
            "int|None",
            int,
            f"random dense splits behind each noise floor (None: {_default(AnalysisOptions, 'repeats')})",
            1,
        ),
        Parameter(
            "random_samples",
            None,
            "int|None",
            int,
            f"random samples as large as PIE_t in the PIE evaluation (None: {_default(AnalysisOptions, 'random_samples')})",
            1,
        ),
        Parameter(
            "robustness_subsample",
            None,
            "int|None",
            int | None,
            f'test images per corrupted set, "none" for all (None: {_default(RobustnessOptions, "subsample")})',
            1,
        ),
        Parameter(
            "robustness_adversarial_subsample",
            None,
            "int|None",
            int | None,
            f'test images attacked per model, "none" for all (None: {_default(RobustnessOptions, "adversarial_subsample")})',
            1,
        ),
        Parameter(
            "calibration_simulations",
            None,
            "int|None",
            int,
            f"simulated populations per scenario behind the rules' error rates (None: {BOOK_SIMULATIONS})",
            1,
        ),
        Parameter("gallery_size", 24, "int", int, "images per gallery", 1),
        Parameter("gallery_seed", 0, "int", int, "which PIE and non-PIE images the galleries show", 0),
        Parameter("classroom_profile", "classroom", "str", str, "the population the lesson plan trains live"),
        Parameter(
            "methods",
            None,
            "list|None",
            tuple[str, ...],
            'compression methods compared with magnitude pruning, a list or text such as "random quantize-int8" '
            "(None: random quantize-fp16 quantize-int8)",
        ),
        Parameter(
            "comparison_size",
            None,
            "int|None",
            int,
            "K models per method in the comparison, up to the trained K (None: 5, or K if smaller)",
            1,
        ),
        Parameter(
            "annotation_sparsity",
            None,
            "float|None",
            float,
            "the level whose PIEs the annotation sheet samples (None: the highest)",
            above=0,
            below=1,
        ),
        Parameter(
            "annotation_size",
            200,
            "int",
            int,
            "images on the annotation sheet, half PIEs (fewer when the level has too few)",
            2,
        ),
        Parameter("annotation_seed", 0, "int", int, "which images the annotation sheet draws, and their order", 0),
    )
}
POPULATION_PARAMETERS = ("population_size", "dense_population_size", "sparsities", "seed", "data_dir")
POPULATION_FIELDS = ("population_size", "dense_population_size", "sparsities", "seed")  # checked by the settings
ANALYSIS_PARAMETERS = ("correction", "alpha", "repeats", "random_samples")  # AnalysisOptions fields
ROBUSTNESS_OPTIONS = ("subsample", "adversarial_subsample")  # RobustnessOptions fields the notebooks take
ROBUSTNESS_PARAMETERS = tuple(PREFIX + name for name in ROBUSTNESS_OPTIONS)
PROFILE_PARAMETERS = ("profile", "classroom_profile")
COMPARED_METHODS = tuple(m for m in METHODS if m != DEFAULT_METHOD)


def _wrong(name: str, value: Any, reason: str) -> ParameterError:
    return ParameterError(f"notebook parameter {name} = {value!r}: {reason}")


def read_parameter(name: str, value: Any) -> Any:
    """One parameter's value read as its type and checked; None stays None ("not set": the default)."""
    spec = PARAMETERS[name]
    if value is None:
        return None
    try:
        converted = convert(spec.hint, value, name)
    except SettingsError:
        raise _wrong(name, value, f"expected {spec.kind.replace('|None', '')}: {spec.help}") from None
    if name == "sparsities" and (problem := dense_level_problem(converted)):
        raise _wrong(name, value, problem)
    if name in POPULATION_FIELDS:
        try:
            PopulationSettings(**{name: converted})  # the population's own checks, as on the command line
        except InvalidSettingError as exc:
            raise _wrong(name, value, f"{exc.reason} ({spec.help})") from None
    numbers = converted if isinstance(converted, tuple) else (converted,)
    for number in (n for n in numbers if isinstance(n, (int, float)) and not isinstance(n, bool)):
        problem = bounds_problem(number, spec.minimum, spec.above, spec.below)
        if problem:
            raise _wrong(name, value, f"{problem} ({spec.help})")
    if name in PROFILE_PARAMETERS and converted not in PROFILES:
        raise _wrong(name, value, f"unknown profile; choose one of {', '.join(PROFILES)}")
    if name == "correction" and converted is not None and converted not in CORRECTIONS:
        raise _wrong(name, value, f"unknown correction; choose one of {', '.join(CORRECTIONS)} or none")
    if name == "methods" and set(converted) - set(COMPARED_METHODS):
        unknown = sorted(set(converted) - set(COMPARED_METHODS))[0]
        raise _wrong(name, value, f"unknown method {unknown!r}; choose from {', '.join(COMPARED_METHODS)}")
    return converted


def read_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook parameters found in ``namespace`` (a notebook's ``vars()``), each read and checked; only
    those set (not None) are returned, so a missing name means "the default"."""
    given = {}
    for name in PARAMETERS:
        if name in namespace:
            value = read_parameter(name, namespace[name])
            if value is not None or (isinstance(namespace[name], str) and namespace[name].strip()):
                given[name] = value  # "none" for correction or a subsample is a choice, not the default
    return given


def resolve(given: Mapping[str, Any]) -> tuple[str, Path, dict[str, Any], AnalysisOptions, RobustnessOptions]:
    """The profile, results folder, population overrides and options that read parameters describe."""
    population = {name: given[name] for name in POPULATION_PARAMETERS if name in given}
    analysis = AnalysisOptions(**{name: given[name] for name in ANALYSIS_PARAMETERS if name in given})
    robustness = RobustnessOptions(
        **{name.removeprefix(PREFIX): given[name] for name in ROBUSTNESS_PARAMETERS if name in given}
    )
    return (
        given.get("profile", PARAMETERS["profile"].default),
        Path(given.get("results_dir", PARAMETERS["results_dir"].default)),
        population,
        analysis,
        robustness,
    )


def check_trained(results_dir: Path, settings: Settings, given: Mapping[str, Any]) -> None:
    """Every model the parameters ask for is trained; otherwise one message naming the parameter to blame
    (a seed, sparsity or size beyond what exists, or a results folder without the population) and the
    command that trains what is missing."""
    pop_dir = store.population_dir(results_dir, settings)
    train = command_line("train", settings, results_dir)

    def wrong(name: str, reason: str) -> ParameterError:
        value = given.get(name, PARAMETERS[name].default)
        return _wrong(name, list(value) if isinstance(value, tuple) else value, reason)

    if not (pop_dir / store.LABELS_FILE).is_file():
        held = {p.parent.name for p in pop_dir.parent.glob(f"*/{store.LABELS_FILE}")}  # populations it holds
        if "seed" in given:
            name = "seed"
        elif held and not any(folder.startswith(f"{settings.profile}-") for folder in held):
            name = "profile"  # the folder holds populations, none of this profile
        else:
            name = "results_dir"
        raise wrong(
            name,
            f"no trained population of profile {settings.profile} with these settings in "
            f"{pop_dir.parent.resolve()} (folders are relative to where the notebook runs: from the repository's "
            f'folder, results_dir is "results"; from notebooks/ or book/, "../results"). Train it with: {train}',
        )
    profile = get_profile(settings.profile).population
    for level, (done, wanted) in store.trained_counts(pop_dir, settings).items():
        if done >= wanted:
            continue
        where = (
            f"{done} of {wanted} models are trained at {'sparsity ' * (level < 1)}{format_level(level)} in {pop_dir}"
        )
        if "sparsities" in given and (level not in profile.sparsities or done == 0):
            name = "sparsities"
        elif level == 0 and "dense_population_size" in given:
            name = "dense_population_size"
        elif "population_size" in given:
            name = "population_size"
        else:
            name = "results_dir"  # the profile's own population is not fully trained
        raise wrong(name, f"{where}. Ask for fewer, or train them with: {train}")


PARAMETERS_CELL = '# %% tags=["parameters", "hide-input"]\n'
"""How a notebook's parameters cell begins: papermill finds it by its tag, readers see it folded."""


def parameters_cell_lines(source: str) -> list[str]:
    """The parameter lines of a jupytext percent notebook's parameters cell."""
    match = re.search(re.escape(PARAMETERS_CELL) + r"(.*?)(?=^# %%|\Z)", source, flags=re.S | re.M)
    if match is None:
        raise ParameterError("the notebook has no cell tagged parameters")
    return [line for line in match.group(1).splitlines() if line.strip()]


def expected_cell_lines(source: str) -> list[str]:
    """What the parameters cell of ``source`` should say: each of its parameters' line from the table
    (an unknown name is an error)."""
    names = [line.split("=")[0].strip() for line in parameters_cell_lines(source)]
    unknown = [name for name in names if name not in PARAMETERS]
    if unknown:
        raise ParameterError(f"parameters {', '.join(unknown)} are not in pruning_impact.book.parameters.PARAMETERS")
    return [PARAMETERS[name].line() for name in names]


def rewrite_parameters_cell(path: Path) -> bool:
    """Rewrite a notebook's parameters cell from the table; True when it changed."""
    source = path.read_text()
    old, new = parameters_cell_lines(source), expected_cell_lines(source)
    if old == new:
        return False
    start = source.index(PARAMETERS_CELL)
    end = source.find("# %%", start + 1)
    end = len(source) if end < 0 else end
    cell = source[start:end]
    for before, after in zip(old, new):
        cell = cell.replace(before + "\n", after + "\n", 1)
    path.write_text(source[:start] + cell + source[end:])
    return True


if __name__ == "__main__":  # python -m pruning_impact.book.parameters notebooks/*.py
    for file in sys.argv[1:]:
        if rewrite_parameters_cell(Path(file)):
            print(f"rewrote the parameters cell of {file}")
