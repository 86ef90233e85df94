"""The Ray executor: a population's jobs as tasks of a Ray cluster (``--executor ray``), with the same
``map`` as the local executor, so both make the same store. Ray is an optional extra, imported only here."""

from __future__ import annotations

import logging
import os
import shlex
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pruning_impact.foundations.errors import ExecutorError, NodeError
from pruning_impact.foundations.executor import (
    RAY_INSTALL,
    THREAD_VARIABLES,
    Job,
    Outcome,
    Progress,
    error_line,
    timed_call,
)
from pruning_impact.foundations.machine import cpu_count
from pruning_impact.foundations.provenance import package_digest
from pruning_impact.foundations.settings import ResourceSettings

logger = logging.getLogger(__name__)


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
    return timed_call(function, job)


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
                f"cannot connect to {where}: {error_line(exc)}. Start a cluster with `ray start --head` (the re-run "
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
                    logger.warning(
                        "No live node of the Ray cluster can take a task now; waiting for one (Ctrl-C stops)."
                    )
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
            return Outcome(job, error=error_line(exc.cause) if exc.cause is not None else error_line(exc))
        except exceptions.RayError as exc:  # its worker or node died on every attempt, or it was cancelled
            return Outcome(job, error=error_line(exc))
        return Outcome(job, value, seconds=seconds, host=host)

    def _started(self, started: Any, indices: list[int]) -> int:
        if not indices:
            return 0
        try:
            return self.ray.get(started.count.remote(indices), timeout=5)
        except self.ray.exceptions.RayError:  # the actor was lost with its node: count every task as running
            return len(indices)
