"""Provenance saved with every result: the code version, library versions and the machine, without
importing the libraries themselves (the analysis stays free of torch); and digests of the package's source,
which tell whether two processes run the same code and whether a cached table was made by today's."""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import socket
import subprocess
import time
from functools import cache
from importlib import metadata
from pathlib import Path

from pruning_impact import __version__
from pruning_impact.foundations.machine import cpu_model

LIBRARIES = ("torch", "torchvision", "numpy", "scipy", "pandas")
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # src/pruning_impact


def code_version() -> str:
    """The git commit of this package's source (with '-dirty' for local changes), or the package version."""
    here = PACKAGE_ROOT
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"pruning-impact {__version__} (not a git checkout)"


@cache
def package_digest() -> str:
    """A digest of this package's source files, every subpackage's included (with their paths): two processes
    with the same digest run the same code."""
    return _digest(sorted(PACKAGE_ROOT.rglob("*.py")))


def source_digest(*modules: str) -> str:
    """A digest of these modules' source (dotted names, found without importing them) and their places in the
    package: cached tables record the digest of the code that made them, and are made again when it changes."""
    return _digest([Path(importlib.util.find_spec(module).origin) for module in modules])


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.resolve().relative_to(PACKAGE_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _version(library: str) -> str | None:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None


def provenance(device: str | None = None) -> dict:
    """What produced a result: code and library versions, Python, platform, CPU, device and time."""
    return {
        "code_version": code_version(),
        "package_version": __version__,
        "python": platform.python_version(),
        **{library: _version(library) for library in LIBRARIES},
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "processor": cpu_model(),
        "device": device,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
