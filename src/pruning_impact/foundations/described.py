"""Frozen dataclasses whose fields describe themselves: a one-line description per field (``describe``),
from which the command line builds its flags and help, and one normalisation of user values (``convert``)
applied when a dataclass is built, so that a value typed by a user (``"4"``, ``"none"``, ``"0 0.5 0.9"``)
means the same wherever it enters: the command line, a notebook parameter or Python."""

from __future__ import annotations

import re
import types
from dataclasses import field, fields
from functools import cache
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from pruning_impact.foundations.errors import InvalidSettingError

NONE_WORDS = ("none", "null", "")


def describe(
    default: Any, help: str, hashed: bool = True, choices: tuple | None = None, flag: str | None = None
) -> Any:
    """A dataclass field with its description; ``hashed=False`` keeps it out of the run hash, ``choices``
    lists its allowed values and ``flag`` names its command-line flag when the field name would clash."""
    return field(default=default, metadata={"help": help, "hashed": hashed, "choices": choices, "flag": flag})


def require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise InvalidSettingError(name, message)


def bounds_problem(
    number: float, minimum: float | None = None, above: float | None = None, below: float | None = None
) -> str | None:
    """What is wrong with ``number`` for these bounds (``minimum`` allowed, ``above`` and ``below`` not), in the
    words every message uses, or None when it is within them."""
    what = "negative" if number < 0 else "too small"
    if minimum is not None and number < minimum:
        return f"{number:g} is {what}; give {minimum:g} or more"
    if above is not None and number <= above:
        return f"{number:g} is {what}; give more than {above:g}"
    if below is not None and number >= below:
        return f"{number:g} is too large; give less than {below:g}"
    return None


def require_within(numbers, name: str, **bounds: float) -> None:
    """Every number of ``numbers`` (one or a tuple) within ``bounds`` (see ``bounds_problem``)."""
    for number in numbers if isinstance(numbers, tuple) else (numbers,):
        problem = bounds_problem(number, **bounds)
        require(problem is None, name, problem or "")


def one_of(value: Any, allowed: tuple, name: str) -> None:
    require(value in allowed, name, f"{value!r} is not one of {', '.join(map(repr, allowed))}")


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
    raise InvalidSettingError(name, f"{value!r} is not a {_type_name(hint)}")


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


def flag(cls: type, name: str) -> str:
    """The command-line flag of a field: ``--field-name``, or the field's own ``flag`` where names clash."""
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    return "--" + (meta.get("flag") or name.replace("_", "-"))


def field_help(cls: type) -> dict[str, str]:
    """Field name -> description, for documentation and the command line."""
    return {f.name: f.metadata.get("help", "") for f in fields(cls)}
