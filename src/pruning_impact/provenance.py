"""Provenance saved with every result: the code version, library versions and the machine, without
importing the libraries themselves (the analysis stays free of torch)."""

from __future__ import annotations

import hashlib
import platform
import socket
import subprocess
import time
from functools import cache
from importlib import metadata
from pathlib import Path

from . import __version__

LIBRARIES = ("torch", "torchvision", "numpy", "scipy", "pandas")


def code_version() -> str:
    """The git commit of this package's source (with '-dirty' for local changes), or the package version."""
    here = Path(__file__).resolve().parent
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
    """A digest of this package's source files: two processes with the same digest run the same code."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
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


SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # the instruction sets training speed depends on
# How much slower this project's training is on the slower 2-core kind (AVX2 only, float32) than on an AMD EPYC
# with AVX512-BF16: 2.7-3x measured for the trainer, times 1.14 for float32 (benchmarks/NOTES.md).
SLOWER_KIND_FACTOR = (2.7 * 1.14, 3.0 * 1.14)


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in /proc/cpuinfo (None where there is no such file or field)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags() -> list[str]:
    """The CPU's instruction-set flags (empty where the system does not list them)."""
    return (_cpuinfo("flags") or "").split()


def machine() -> dict:
    """The machine a timing was measured on: CPU model, the flags that matter for speed, and cores."""
    from .executor import cpu_count

    flags = set(cpu_flags())
    return {
        "processor": cpu_model(),
        "speed_flags": [flag for flag in SPEED_FLAGS if flag in flags],
        "cores": cpu_count(),
    }


def cpu_model() -> str:
    """The CPU's model name (timings and CPU results depend on it)."""
    return _cpuinfo("model name") or platform.processor() or "unknown"
