"""Where independent jobs run (a model to train, a model to evaluate, a simulated population): in this
process, in worker processes sharing this machine's cores, or as tasks on a Ray cluster.

Small models use two cores badly: the default CNN trains at 1.38x the images/s on two threads that it
does on one, so two single-threaded workers, one model each, get 1.22x more done than one process with
two threads (``benchmarks/NOTES.md``). On a cluster each task asks for the CPUs and GPUs of the
population's ``resources`` settings and runs with that many threads, so that tasks sharing a node do not
oversubscribe its cores.

Each job writes its own results into the results folder (on a cluster, a folder every node sees) with the
store's atomic writes and skips what is already finished, so the order in which jobs finish does not
matter, both executors make the same store, and an interrupted run keeps every finished job.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from tqdm import tqdm

from pruning_impact.foundations.errors import JobsFailedError, PruningImpactError, SettingsError
from pruning_impact.foundations.machine import cpu_count
from pruning_impact.foundations.settings import ResourceSettings

Job = TypeVar("Job")

EXECUTORS = ("local", "ray")
RAY_INSTALL = "pip install -e '.[ray]'"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
FAILURES_SHOWN = 10  # a report lists this many failed jobs, then counts the rest


@contextmanager
def single_threaded_children(threads: int = 1) -> Iterator[None]:
    """Thread-count variables set for worker processes started inside (numpy and torch read them when they
    start):
    the workers already use every core, and nested threads slow them down."""
    values = dict.fromkeys(THREAD_VARIABLES, str(threads))
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_jobs(function: Callable[[Job], Any], jobs: Iterable[Job], workers: int = 1) -> Iterator[tuple[Job, Any]]:
    """(job, function(job)) for every job, as they finish: here, one after another, when ``workers`` is 1;
    else in up to ``workers`` processes (spawned, so ``function`` and the jobs must be picklable) of
    ``cpu_count() // workers`` threads each, even for a single job, with at most ``2 * workers`` queued.

    The first job to raise stops the rest: queued jobs are cancelled, running ones finish, and its error is
    raised here, as it is on Ctrl-C."""
    jobs = list(jobs)
    if workers <= 1 or not jobs:
        for job in jobs:
            yield job, function(job)
        return
    # even a single job goes to a worker: a model's numbers depend on the threads it ran with
    threads = max(cpu_count() // workers, 1)  # as asked, even when fewer jobs than workers are left
    workers = min(workers, len(jobs))
    queue, running = iter(jobs), {}
    # the workers start at the first submissions: the thread variables hold until they have
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        with single_threaded_children(threads):
            for job in queue:
                running[pool.submit(function, job)] = job
                if len(running) >= 2 * workers:
                    break
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                yield job, future.result()
                for following in queue:
                    running[pool.submit(function, following)] = following
                    break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- executors


@dataclass(frozen=True)
class ExecutorOptions:
    """Where a population's jobs run: ``local`` (this machine) or ``ray`` (a Ray cluster)."""

    kind: str = "local"
    workers: int | None = None  # local: processes side by side, one job each (None: the caller's default)
    ray_address: str | None = None  # ray: auto, HOST:PORT, or None for a Ray instance started for this run

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise SettingsError(f"invalid executor {self.kind!r}: choose one of {', '.join(EXECUTORS)}")
        if self.kind == "ray" and self.workers is not None:
            raise SettingsError("--workers is for the local executor; a Ray task's share of a node is --cpus-per-task")
        if self.kind == "local" and self.ray_address is not None:
            raise SettingsError("--ray-address needs --executor ray")
        if self.workers is not None and self.workers < 1:
            raise SettingsError(f"--workers {self.workers} must be >= 1")


@dataclass
class Outcome:
    """How a job ended: its value, or the error it failed with on its last attempt."""

    job: Any
    value: Any = None
    error: str | None = None
    seconds: float = 0.0  # the job's own time in its worker, without waiting in a queue
    host: str = ""


def timed_call(function: Callable[[Job], Any], job: Job) -> tuple[Any, float, str]:
    start = time.perf_counter()
    value = function(job)
    return value, time.perf_counter() - start, socket.gethostname()


def error_line(error: BaseException) -> str:
    """An error as one line: a user-facing error's message, else its type and message."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, PruningImpactError) else f"{type(error).__name__}: {text}"


@dataclass
class Progress:
    """A bar over the models of a set of jobs: how many are done, how many jobs are running and how many
    models failed, and the mean seconds one model took in its worker."""

    total: int
    done: int
    desc: str
    size: Callable[[Any], int] = lambda job: 1  # models in a job
    disable: bool = False
    running: int = 0
    failed: int = 0
    models: int = 0
    seconds: float = 0.0
    note: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bar = tqdm(
            total=self.total, initial=self.done, desc=self.desc, unit="model", disable=self.disable, dynamic_ncols=True
        )

    def set_running(self, jobs: int) -> None:
        if jobs != self.running:
            self.running = jobs
            self._show()

    def finished(self, outcome: Outcome, **note: Any) -> None:
        """Count a finished job; ``note`` adds to what the bar shows (e.g. the last model's top-1)."""
        models = self.size(outcome.job)
        if outcome.error is None:
            self.bar.update(models)
            self.models += models
            self.seconds += outcome.seconds
        else:
            self.failed += models
        self.note.update(note)
        self._show()

    def _show(self) -> None:
        shown = {"running": self.running, "failed": self.failed}
        if self.models:
            shown["s/model"] = f"{self.seconds / self.models:.1f}"
        self.bar.set_postfix({**shown, **self.note}, refresh=True)

    def close(self) -> None:
        self.bar.close()


def raise_failures(failed: list[Outcome], label: Callable[[Any], str], total: int, retry: str) -> None:
    """One error listing the jobs that failed on every attempt (``label`` names a job), if any."""
    if not failed:
        return
    lines = [f"  {label(outcome.job)}: {outcome.error}" for outcome in failed[:FAILURES_SHOWN]]
    if len(failed) > FAILURES_SHOWN:
        lines.append(f"  and {len(failed) - FAILURES_SHOWN} more")
    raise JobsFailedError(
        f"{len(failed)} of {total} jobs failed on every attempt; the other {total - len(failed)} finished and are "
        "stored:\n" + "\n".join(lines) + f"\n{retry}"
    )


class LocalExecutor:
    """Jobs in this process (1 worker) or in ``workers`` processes of this machine. The first job to fail
    stops the others and its error is raised: here, an error is usually one that every job would meet."""

    kind = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def describe(self) -> str:
        return f"{self.workers} worker process{'es' if self.workers != 1 else ''}"

    def flags(self) -> str:
        """The command-line flags that choose this executor again (with a leading space)."""
        return f" --workers {self.workers}"

    def close(self) -> None:
        """Nothing to release: the worker processes end with each ``map``."""

    def map(
        self,
        function: Callable[[Job], Any],
        jobs: Iterable[Job],
        resources: ResourceSettings | None = None,
        progress: Progress | None = None,
    ) -> Iterator[Outcome]:
        """An ``Outcome`` for every job, as they finish (``resources`` are a cluster's and do not apply here)."""
        jobs = list(jobs)
        left = len(jobs)
        if progress is not None:
            progress.set_running(min(left, self.workers))
        for job, (value, seconds, host) in run_jobs(partial(timed_call, function), jobs, self.workers):
            left -= 1
            if progress is not None:
                progress.set_running(min(left, self.workers))
            yield Outcome(job, value, seconds=seconds, host=host)
