"""Run independent jobs (a model to train, a model to evaluate, a simulated population) in this process or
in worker processes that share the machine's cores.

Small models use two cores badly: the default CNN trains at 1.38x the images/s on two threads that it
does on one, so two single-threaded workers, one model each, get 1.22x more done than one process with
two threads (``benchmarks/NOTES.md``). Each job writes its own results, so the order in which jobs finish
does not matter, and an interrupted run keeps every finished job.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

Job = TypeVar("Job")

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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
