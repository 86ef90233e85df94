"""Flags from the settings and options dataclasses: each field's description is its help, its default is
shown, and its value stays text until the dataclass is built (and checked). The values given back:
``settings_from_args``, ``options_from_args``, ``executor_from_args``."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any, get_args, get_origin

from pruning_impact.foundations import store
from pruning_impact.foundations.described import field_help, flag, type_hints
from pruning_impact.foundations.executor import EXECUTORS, RAY_INSTALL, ExecutorOptions
from pruning_impact.foundations.profiles import DEFAULT_PROFILE, PROFILES, resolve_settings
from pruning_impact.foundations.settings import (
    DataSettings,
    PopulationSettings,
    ResourceSettings,
    Settings,
    TrainSettings,
)

# the profile's settings a user may override from the command line (``resolve_settings``'s arguments)
OVERRIDES = (
    (PopulationSettings, "population_size"),
    (PopulationSettings, "dense_population_size"),
    (PopulationSettings, "sparsities"),
    (PopulationSettings, "seed"),
    (PopulationSettings, "method"),
    (DataSettings, "data_dir"),
    (TrainSettings, "device"),
)
# what a Ray task asks for: flags of the commands that train or evaluate models
RESOURCE_OVERRIDES = (
    (ResourceSettings, "cpus_per_task"),
    (ResourceSettings, "gpus_per_task"),
    (ResourceSettings, "max_retries"),
)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return "none" if value is None else str(value)


def _dest(cls: type, name: str) -> str:
    return flag(cls, name)[2:].replace("-", "_")


def _add_field(parser: argparse.ArgumentParser, cls: type, name: str, default_text: str) -> None:
    """A flag for one dataclass field: its description as help, a list for tuple fields; the value stays
    text here and is converted (and checked) when the dataclass is built."""
    spec = {f.name: f for f in fields(cls)}[name]
    hint = type_hints(cls)[name]
    is_list = get_origin(hint) is tuple or any(get_origin(a) is tuple for a in get_args(hint))
    choices = spec.metadata.get("choices")
    text = field_help(cls)[name]
    if choices and not all(choice in text for choice in choices):
        text += f" Any of: {', '.join(choices)}." if is_list else f" One of: {', '.join(choices)}."
    parser.add_argument(
        flag(cls, name),
        dest=_dest(cls, name),
        nargs="+" if is_list else None,
        default=None,
        metavar="N" if {int, float} & {hint, *get_args(hint)} else name.split("_")[-1].upper(),
        help=f"{text} {default_text}",
    )


def add_options(parser: argparse.ArgumentParser, cls: type, names: tuple[str, ...] | None = None) -> None:
    group = parser.add_argument_group(f"{cls.__name__}: {cls.__doc__.splitlines()[0].rstrip('.').lower()}")
    for spec in fields(cls):
        if names is None or spec.name in names:
            everything = spec.metadata.get("choices") is not None and spec.default == spec.metadata["choices"]
            _add_field(
                group, cls, spec.name, "(default: all of them)" if everything else f"(default: {_shown(spec.default)})"
            )


def add_results(parser: argparse.ArgumentParser) -> None:
    """The results folder flag, as every command that reads or writes the store has it."""
    parser.add_argument(
        "--results", default=store.DEFAULT_RESULTS, help=f"results folder (default: {store.DEFAULT_RESULTS})"
    )


def add_population_options(parser: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    parser.add_argument(
        "--profile", default=DEFAULT_PROFILE, help=f"named settings ({', '.join(PROFILES)}); default {DEFAULT_PROFILE}"
    )
    add_results(parser)
    for cls, name in OVERRIDES:
        if name not in leave_out:
            _add_field(parser, cls, name, "(default: the profile's)")


def add_executor(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where models are trained and evaluated")
    group.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this machine; ray: tasks on a Ray cluster, each asking for --cpus-per-task CPUs and "
        f"--gpus-per-task GPUs (needs {RAY_INSTALL}) (default: local)",
    )
    group.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local: processes that train or evaluate models side by side, one model each (default: one per core "
        "on a CPU, one on a GPU)",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        help="ray: the cluster to use, auto (the one this node joined with ray start) or HOST:PORT (default: "
        "RAY_ADDRESS if set, else a Ray instance started on this machine for this command)",
    )
    for cls, name in RESOURCE_OVERRIDES:
        _add_field(group, cls, name, "(default: the profile's)")


def executor_from_args(args: argparse.Namespace) -> ExecutorOptions:
    return ExecutorOptions(kind=args.executor, workers=args.workers, ray_address=args.ray_address)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The overrides of the profile given on the command line."""
    given = {name: getattr(args, name, None) for _, name in OVERRIDES + RESOURCE_OVERRIDES}
    return {name: value for name, value in given.items() if value is not None}


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The profile's settings with the command line's overrides applied (and validated)."""
    return resolve_settings(args.profile, **overrides_from_args(args))


def options_from_args(args: argparse.Namespace, cls: type) -> Any:
    """An options dataclass from the flags given; the others keep their defaults."""
    given = {spec.name: getattr(args, _dest(cls, spec.name), None) for spec in fields(cls)}
    return cls(**{name: value for name, value in given.items() if value is not None})
