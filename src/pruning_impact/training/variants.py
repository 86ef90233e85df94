"""Populations of other compression methods beside the paper's (``compare``, the methods chapter).

Each method's population (``variant_settings``) shares the paper's population's recipe and its dense
models (copied, not trained again): a pruning method trains K models at the highest sparsity, a
quantization method converts the reference's K partners. Seeds differ between methods
(``population.model_seed``), so two methods' models are as independent as two dense groups.
``comparison_problem`` is the one check of the sizes such a comparison needs.
"""

from __future__ import annotations

from pathlib import Path

from pruning_impact.foundations import store
from pruning_impact.foundations.dense_split import DenseSplit, largest_partnered_k, partnered_size
from pruning_impact.foundations.errors import SettingsError
from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.profiles import command_line
from pruning_impact.foundations.settings import PRUNING_METHODS, QUANTIZATION_BITS, Settings

BOOK_METHODS = ("random", "quantize-fp16", "quantize-int8")  # what ``make book`` compares with magnitude
BOOK_COMPARISON_SIZE = 5


def comparison_size(base: Settings, k: int | None = None) -> int:
    """K of a comparison: ``k``, or the book's (``BOOK_COMPARISON_SIZE``) where the population has that many
    sparse models and twice as many dense ones (else as many as it has)."""
    return k or max(1, min(BOOK_COMPARISON_SIZE, largest_comparison(base)))


def largest_comparison(base: Settings) -> int:
    """The largest K at which ``base``'s models can be compared with other methods'."""
    pop = base.population
    return min(largest_partnered_k(pop.size_at(0.0)), pop.population_size)


def comparison_problem(base: Settings, k: int) -> str | None:
    """Why methods cannot be compared at K = ``k`` against ``base``'s models (a reference of K dense models and
    its K partners, and K at the highest sparsity), or None when they can."""
    pop = base.population
    problem = DenseSplit(pop.size_at(0.0), k).partners_problem(f"comparing methods at K = {k}")
    if problem is None and k > pop.population_size:
        problem = f"comparing methods at K = {k} needs {k} models at the highest sparsity, not {pop.population_size}"
    return None if problem is None else f"{problem} ({base.name})"


def variant_settings(base: Settings, method: str, k: int) -> Settings:
    """The population of ``method`` beside ``base`` at K = ``k``: the highest sparsity for a pruning method,
    the bit width for a quantization method; dense models: the reference and its partners (2K, copied)."""
    if method not in PRUNING_METHODS + tuple(QUANTIZATION_BITS):
        raise SettingsError(
            f"unknown method {method!r}; choose from {', '.join((*PRUNING_METHODS, *QUANTIZATION_BITS))}"
        )
    problem = comparison_problem(base, k)
    if problem:
        raise SettingsError(f"{problem}: choose a smaller K (at most {largest_comparison(base)})")
    pop = base.population
    population = {"method": method, "population_size": k, "dense_population_size": partnered_size(k)}
    if method in PRUNING_METHODS:
        population["sparsities"] = (0.0, max(pop.sparsities))
    # dense models are copied from the paper's population, and VoG reads that population's checkpoints
    return base.replace(population=population, training={"checkpoints": 0})


def compared_levels(base: Settings, methods: tuple[str, ...]) -> list[tuple[str, float]]:
    """(method, level) of every row of the comparison: the paper's method at its highest sparsity first."""
    top = max(base.population.sparsities)
    rows = [("magnitude", top)]
    for method in methods:
        bits = QUANTIZATION_BITS.get(method)
        rows.append((method, float(bits) if bits else top))
    return rows


def train_variants(
    base: Settings,
    results_dir: str | Path,
    methods: tuple[str, ...] = BOOK_METHODS,
    k: int = BOOK_COMPARISON_SIZE,
    progress: bool = True,
    executor: ExecutorOptions = ExecutorOptions(),
) -> list:
    """Make every missing model of the methods' populations (the paper's population must be trained)."""
    from pruning_impact.training.population import train_population

    store.require_trained(results_dir, base)
    return [train_population(variant_settings(base, method, k), results_dir, progress, executor) for method in methods]


def compare_command(settings: Settings, results_dir: Path, methods: tuple[str, ...], k: int) -> str:
    """The command that trains the methods' populations beside ``settings``' and compares them."""
    return f"{command_line('compare', settings, results_dir)} --methods {' '.join(methods)} --comparison-k {k}"
