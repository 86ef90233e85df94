"""The machine a result or a timing comes from: CPU model, the instruction sets speed depends on, and the
cores this process may use."""

from __future__ import annotations

import os
import platform
from pathlib import Path

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
    flags = set(cpu_flags())
    return {
        "processor": cpu_model(),
        "speed_flags": [flag for flag in SPEED_FLAGS if flag in flags],
        "cores": cpu_count(),
    }


def cpu_model() -> str:
    """The CPU's model name (timings and CPU results depend on it)."""
    return _cpuinfo("model name") or platform.processor() or "unknown"


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
