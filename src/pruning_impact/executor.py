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

import logging
import multiprocessing
import os
import shlex
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from .errors import ExecutorError, JobsFailedError, NodeError, PruningImpactError, SettingsError
from .provenance import package_digest
from .settings import ResourceSettings

Job = TypeVar("Job")

EXECUTORS = ("local", "ray")
RAY_INSTALL = "pip install -e '.[ray]'"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
FAILURES_SHOWN = 10  # a report lists this many failed jobs, then counts the rest


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


def _timed(function: Callable[[Job], Any], job: Job) -> tuple[Any, float, str]:
    start = time.perf_counter()
    value = function(job)
    return value, time.perf_counter() - start, socket.gethostname()


def _message(error: BaseException) -> str:
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
        for job, (value, seconds, host) in run_jobs(partial(_timed, function), jobs, self.workers):
            left -= 1
            if progress is not None:
                progress.set_running(min(left, self.workers))
            yield Outcome(job, value, seconds=seconds, host=host)


def import_ray() -> Any:
    """The ``ray`` module, or an ``ExecutorError`` saying in one line how to install it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"the ray executor needs Ray, an optional extra: {RAY_INSTALL}") from None
    return ray


def _ray_token_available() -> bool:
    """Whether this user has a Ray authentication token (Ray's variables, or the file ``ray start`` writes)."""
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return (Path.home() / ".ray" / "auth_token").is_file()


class _Started:
    """A Ray actor that knows which jobs' tasks have begun (each task tells it when it starts)."""

    def __init__(self) -> None:
        self.jobs: set[int] = set()

    def add(self, index: int) -> None:
        self.jobs.add(index)

    def count(self, indices: list[int]) -> int:
        return len(self.jobs.intersection(indices))


def _run_task(
    function: Callable[[Job], Any], job: Job, threads: int, digest: str, started: Any, index: int
) -> tuple[Any, float, str]:
    """A Ray task: refuse a node that runs other code than the driver, say that job ``index`` has begun,
    and run it with ``threads`` threads (a worker process may have run a task of another size before)."""
    import torch

    if package_digest() != digest:
        raise NodeError(
            f"node {socket.gethostname()} runs other pruning-impact code than the driver (source digest "
            f"{package_digest()[:12]}, the driver's {digest[:12]}): install the same version on every node, "
            "for example from one checkout on the shared file system"
        )
    started.add.remote(index)
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    torch.set_num_threads(threads)
    return _timed(function, job)


class RayExecutor:
    """Jobs as tasks of a Ray cluster: the one at ``address`` (``auto``: the cluster this node joined with
    ``ray start``; or ``HOST:PORT``), the one ``RAY_ADDRESS`` names, or else a new Ray instance on this
    machine for this executor. A Ray already initialised in this process (``ray.init``) is used as it is.

    Each task asks for ``resources.cpus_per_task`` CPUs and ``gpus_per_task`` GPUs and runs with that many
    threads. A task whose worker or node dies is started again, up to ``resources.max_retries`` times; a job
    that raises is not retried (its error would come back) and is reported while the others go on, except
    when the error is its node's (``NodeError``: other code, no shared results folder), which would fail
    every task sent there: that stops the run at once. At most twice as many tasks as the cluster can run at
    once are submitted; on Ctrl-C (or any error in the driver) they are stopped (``_stop``), and what they
    had half-written is never marked finished."""

    kind = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address or os.environ.get("RAY_ADDRESS")
        if self.address and _ray_token_available():
            # Ray 2.59 and 2.60 start clusters with token authentication, but connect to one without it unless
            # told before Ray is imported (2.61 will do this itself)
            os.environ.setdefault("RAY_AUTH_MODE", "token")
        self.ray = import_ray()
        self.connected = not self.ray.is_initialized()  # by this executor, which then disconnects in close()
        if self.connected:
            self._connect()

    def _connect(self) -> None:
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        if self.address is None:  # a new instance, even where ``ray start`` left one on this machine
            options.update(address="local", num_cpus=cpu_count(), include_dashboard=False)
        else:
            options["address"] = self.address
        try:
            self.ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError, self.ray.exceptions.RayError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a Ray instance on this machine"
            raise ExecutorError(
                f"cannot connect to {where}: {_message(exc)}. Start a cluster with `ray start --head` (the re-run "
                "chapter shows how) and give its address with --ray-address HOST:PORT"
            ) from None

    def flags(self) -> str:
        """The command-line flags that choose this executor again (with a leading space)."""
        return " --executor ray" + (f" --ray-address {shlex.quote(self.address)}" if self.address else "")

    def close(self) -> None:
        """Disconnect from Ray if this executor connected: a Ray instance it started stops, and the cluster's
        workers of this driver end (with the test sets they keep in memory)."""
        if self.connected and self.ray.is_initialized():
            self.ray.shutdown()

    def nodes(self) -> list[dict[str, float]]:
        """The resources of every live node."""
        return [node["Resources"] for node in self.ray.nodes() if node.get("Alive")]

    def slots(self, resources: ResourceSettings) -> int:
        """How many tasks of this size the live nodes can run at once."""
        total = 0
        for have in self.nodes():
            fit = have.get("CPU", 0) // resources.cpus_per_task
            if resources.gpus_per_task:
                fit = min(fit, have.get("GPU", 0) // resources.gpus_per_task)
            total += int(fit)
        return total

    def describe(self) -> str:
        nodes = self.nodes()
        cpus = sum(node.get("CPU", 0) for node in nodes)
        gpus = sum(node.get("GPU", 0) for node in nodes)
        return f"a Ray cluster of {len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus:g} CPUs, {gpus:g} GPUs"

    def _check_room(self, resources: ResourceSettings) -> None:
        if self.slots(resources):
            return
        have = "; ".join(f"{node.get('CPU', 0):g} CPUs and {node.get('GPU', 0):g} GPUs" for node in self.nodes())
        raise ExecutorError(
            f"no node of the Ray cluster has the {resources.cpus_per_task} CPUs and {resources.gpus_per_task:g} GPUs "
            f"a task asks for (its nodes have: {have or 'none'}); ask for less with --cpus-per-task and "
            "--gpus-per-task, or add nodes"
        )

    def map(
        self,
        function: Callable[[Job], Any],
        jobs: Iterable[Job],
        resources: ResourceSettings | None = None,
        progress: Progress | None = None,
    ) -> Iterator[Outcome]:
        """An ``Outcome`` for every job, as they finish; a job that failed on every attempt has ``error`` set."""
        ray = self.ray
        resources = resources or ResourceSettings()
        waiting = list(enumerate(jobs))[::-1]  # popped from the end: in order
        if not waiting:
            return
        self._check_room(resources)
        task = ray.remote(_run_task).options(
            num_cpus=resources.cpus_per_task,
            num_gpus=resources.gpus_per_task,
            max_retries=resources.max_retries,
            retry_exceptions=False,
        )
        started = ray.remote(num_cpus=0)(_Started).remote()
        digest, running, stalled = package_digest(), {}, False
        try:
            while waiting or running:
                room = 2 * self.slots(resources)  # nodes may have joined or left
                if room == 0 and not stalled:
                    tqdm.write("No live node of the Ray cluster can take a task now; waiting for one (Ctrl-C stops).")
                stalled = room == 0
                if stalled and not running:
                    time.sleep(1.0)
                while waiting and len(running) < room:
                    index, job = waiting.pop()
                    ref = task.remote(function, job, resources.cpus_per_task, digest, started, index)
                    running[ref] = (index, job)
                done, _ = ray.wait(list(running), num_returns=1, timeout=1.0) if running else ([], [])
                for ref in done:
                    _, job = running.pop(ref)
                    yield self._outcome(ref, job)
                if progress is not None:
                    progress.set_running(self._started(started, [index for index, _ in running.values()]))
        except BaseException:  # Ctrl-C, an error in the caller, or the caller closing this generator
            self._stop()
            raise
        finally:
            if ray.is_initialized():
                ray.kill(started)

    def _stop(self) -> None:
        """Stop the tasks in flight: a driver that connected itself disconnects, and Ray ends every task of
        its job. (``ray.cancel`` is not used: cancelling a task that is just finishing crashes Ray 2.60's
        driver.) In a Ray session of the caller's own, the tasks already started finish and store their
        runs, and nothing more is submitted."""
        if self.connected:
            self.ray.shutdown()

    def _outcome(self, ref: Any, job: Any) -> Outcome:
        exceptions = self.ray.exceptions
        try:
            value, seconds, host = self.ray.get(ref)
        except exceptions.RayTaskError as exc:  # the job raised: its own error
            if isinstance(exc.cause, NodeError):  # a node that would fail every task it gets: stop here
                raise exc.cause from None
            return Outcome(job, error=_message(exc.cause) if exc.cause is not None else _message(exc))
        except exceptions.RayError as exc:  # its worker or node died on every attempt, or it was cancelled
            return Outcome(job, error=_message(exc))
        return Outcome(job, value, seconds=seconds, host=host)

    def _started(self, started: Any, indices: list[int]) -> int:
        if not indices:
            return 0
        try:
            return self.ray.get(started.count.remote(indices), timeout=5)
        except self.ray.exceptions.RayError:  # the actor was lost with its node: count every task as running
            return len(indices)
