"""The Ray executor on real Ray clusters started by each test: ``ray.init`` in this process, or ``ray start
--head`` on 127.0.0.1 for the driver-interruption test. Every test shuts its cluster down."""

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import ExecutorError, JobsFailedError, NodeError
from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.options import RobustnessOptions
from pruning_impact.foundations.ray_executor import RayExecutor
from pruning_impact.foundations.settings import ResourceSettings
from pruning_impact.robustness.evaluation import evaluate_population
from pruning_impact.training.population import planned_runs, train_population

ray = pytest.importorskip("ray", reason="the Ray tests need the ray extra: pip install -e '.[ray]'")
pytestmark = pytest.mark.ray

RAY = ExecutorOptions(kind="ray")
TASK_TITLE = b"ray::_run_task"  # a Ray worker's process title while it runs one of our tasks
# a few corrupted and attacked images, so the comparison is quick
FEW = RobustnessOptions(
    corruptions=("fog",), severities=(3,), subsample=100, adversarial_subsample=40, models_per_level=2
)


@pytest.fixture
def cluster():
    """A Ray instance of 2 CPUs in this process, shut down after the test."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def task_processes() -> list[int]:
    """The processes running one of our Ray tasks now."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(TASK_TITLE):
                    found.append(int(entry))
            except OSError:
                continue
    return found


def assert_same_predictions(results_a, results_b, settings):
    for sparsity in settings.population.sparsities:
        a, _ = store.load_predictions(results_a, settings, sparsity)
        b, _ = store.load_predictions(results_b, settings, sparsity)
        np.testing.assert_array_equal(a, b)


class DoneWatcher(threading.Thread):
    """Records when each run's ``DONE`` file first appears, to tell later whether a finished run was written
    again (trained twice)."""

    def __init__(self, pop_dir):
        super().__init__()
        self.pop_dir, self.first, self.stop = pop_dir, {}, threading.Event()

    def run(self):
        while not self.stop.is_set():
            for path in self.pop_dir.glob("sparsity-*/model-*/" + folders.DONE_FILE):
                self.first.setdefault(path, path.stat().st_mtime_ns)
            time.sleep(0.01)

    def rewritten(self):
        self.stop.set()
        self.join()
        return [path for path, stamp in self.first.items() if path.stat().st_mtime_ns != stamp]


def assert_complete_and_clean(results, settings):
    """Every planned run is finished once, with its checksums; no run outside the plan, no temporary file."""
    pop_dir = store.population_dir(results, settings)
    for sparsity in settings.population.sparsities:
        assert store.finished_indices(pop_dir, sparsity, verify=True) == list(
            range(settings.population.size_at(sparsity))
        )
    runs = sorted(path.parent for path in pop_dir.glob("sparsity-*/model-*/" + folders.DONE_FILE))
    assert len(runs) == len(planned_runs(settings))
    assert not [path for path in pop_dir.rglob("*") if ".tmp-" in path.name]


def test_a_population_trained_and_evaluated_on_ray_is_the_local_one(cluster, smoke_population, tmp_path):
    local_results, settings = smoke_population
    report = train_population(settings, tmp_path, progress=False, executor=RAY)
    assert report.trained == len(planned_runs(settings))
    assert_complete_and_clean(tmp_path, settings)
    assert_same_predictions(tmp_path, local_results, settings)
    # robustness: the same per-example predictions, so the same tables
    on_ray = evaluate_population(settings, tmp_path, FEW, progress=False, executor=RAY)
    here = evaluate_population(settings, local_results, FEW, progress=False)
    for name in ("corruption_accuracy", "adversarial_accuracy", "example_flips"):
        pd.testing.assert_frame_equal(on_ray[name], here[name])


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_duplicated(cluster, smoke_population, tmp_path):
    local_results, settings = smoke_population
    killed, stop = [], threading.Event()

    def kill_the_first_task() -> None:
        while not stop.is_set() and not killed:
            for pid in task_processes():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_first_task)
    watcher = DoneWatcher(store.population_dir(tmp_path, settings))
    killer.start()
    watcher.start()
    try:
        report = train_population(settings, tmp_path, progress=False, executor=RAY)
    finally:
        stop.set()
        killer.join()
    assert watcher.rewritten() == []  # no finished run was trained again
    assert killed, "no task was seen running"
    assert report.trained == len(planned_runs(settings))
    assert_complete_and_clean(tmp_path, settings)
    assert_same_predictions(tmp_path, local_results, settings)


def test_a_job_that_always_fails_is_reported_and_the_others_finish(cluster, smoke_settings, tmp_path):
    settings = smoke_settings.replace(
        population={"sparsities": (0.0, 0.5), "population_size": 2, "dense_population_size": 3}
    )
    pop_dir = store.population_dir(tmp_path, settings)
    pop_dir.mkdir(parents=True)
    store.sparsity_dir(pop_dir, 0.5).write_text("a file where the runs of t = 0.50 should go")
    with pytest.raises(JobsFailedError) as failure:
        train_population(settings, tmp_path, progress=False, executor=RAY)
    message = str(failure.value)
    assert "2 of 5 jobs failed" in message
    assert "t=0.50 model 0: cannot write" in message and "t=0.50 model 1: cannot write" in message
    assert "--executor ray" in message  # the command that retries them
    assert store.finished_indices(pop_dir, 0.0, verify=True) == [0, 1, 2]


def test_a_population_half_trained_locally_is_finished_by_ray(cluster, smoke_population, tmp_path):
    local_results, settings = smoke_population
    half = settings.replace(population={"population_size": 1, "dense_population_size": 4})
    assert train_population(half, tmp_path, progress=False).trained == 6
    pop_dir = store.population_dir(tmp_path, settings)
    stamps = {path: path.stat().st_mtime_ns for path in pop_dir.glob("sparsity-*/model-*/*")}
    report = train_population(settings, tmp_path, progress=False, executor=RAY)
    assert (report.trained, report.skipped) == (len(planned_runs(settings)) - 6, 6)
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps  # nothing trained twice
    assert_complete_and_clean(tmp_path, settings)
    assert_same_predictions(tmp_path, local_results, settings)


def test_a_task_runs_with_the_cpus_it_asks_for_and_a_larger_one_is_refused(cluster, smoke_settings, tmp_path):
    executor = RayExecutor()
    assert "2 CPUs" in executor.describe() and executor.flags() == " --executor ray"
    assert (
        executor.slots(ResourceSettings(cpus_per_task=1)) == 2
        and executor.slots(ResourceSettings(cpus_per_task=2)) == 1
    )
    two = smoke_settings.replace(
        population={"sparsities": (0.0,), "population_size": 1, "dense_population_size": 1},
        resources={"cpus_per_task": 2},
    )
    report = train_population(two, tmp_path / "two", progress=False, executor=RAY)
    assert store.load_run_metrics(store.run_dir(report.directory, 0.0, 0))["threads"] == 2
    too_large = smoke_settings.replace(resources={"gpus_per_task": 1})
    with pytest.raises(ExecutorError, match="no node of the Ray cluster has the 1 CPUs and 1 GPUs"):
        train_population(too_large, tmp_path / "gpu", progress=False, executor=RAY)


def test_a_node_that_cannot_run_tasks_stops_the_run_at_once(tmp_path):
    """A node without the shared results folder would fail every task it is sent: the first such error stops
    the run, and the executor, which started its own Ray instance, disconnects, which ends the other tasks."""
    executor = RayExecutor()
    try:
        assert executor.connected
        with pytest.raises(NodeError, match="does not see the population folder"):
            list(executor.map(store.require_population_folder, [tmp_path / "not-shared"] * 8))
        assert not ray.is_initialized()
    finally:
        ray.shutdown()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class HeadNode:
    address: str  # HOST:PORT
    environment: dict[str, str]  # for the processes that talk to it: its token


@pytest.fixture
def head_node():
    """A Ray head node started with ``ray start --head`` on 127.0.0.1, with token authentication and a token of
    its own (as the SLURM script sets one up; whether ``ray start`` turns tokens on by itself depends on a
    token file in this user's home, which Ray's local instances write). Stopped after the test."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    token = temp / "auth_token"
    token.write_text(secrets.token_hex(32))
    node = HeadNode(f"127.0.0.1:{port}", {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)})
    # in a session of its own, so that only its processes are stopped (``ray stop`` would stop every cluster)
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
         f"--temp-dir={temp}", "--include-dashboard=false", "--disable-usage-stats"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=node.environment,
    )  # fmt: skip
    try:  # stopped even when it never registers
        wait_for_the_node(ray_cli, node)
        yield node
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def wait_for_the_node(ray_cli: str, node: HeadNode, deadline_seconds: float = 120) -> None:
    """Until the head node's raylet has registered its 2 CPUs with the cluster (``ray status`` lists them), or
    the deadline (a bound on a hang, not a pause: a slow machine waits longer, a fast one less)."""
    deadline, status = time.monotonic() + deadline_seconds, None
    while time.monotonic() < deadline:
        status = subprocess.run(
            [ray_cli, "status", f"--address={node.address}"], capture_output=True, text=True, env=node.environment
        )
        if status.returncode == 0 and "/2.0 CPU" in status.stdout:
            return
        time.sleep(0.5)
    last = status.stderr.strip().splitlines()[-1:] if status else []
    raise TimeoutError(f"the Ray head node at {node.address} did not register within {deadline_seconds} s: {last}")


def default_sigint() -> None:
    """In the driver's process before it starts: SIGINT at its default disposition, so that Python installs its
    KeyboardInterrupt handler. A test run started in the background of a non-interactive shell (``make test &``
    in a script, a CI runner) inherits SIGINT ignored, as POSIX has background jobs do, and the driver would
    then never see the signal: it finished its population and exited 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_the_driver_cancels_its_tasks_and_keeps_the_store_consistent(head_node, smoke_settings, tmp_path):
    settings = smoke_settings.replace(population={"population_size": 10, "dense_population_size": 10})
    pruning_impact = str(Path(sys.executable).with_name("pruning-impact"))
    command = [pruning_impact, "train", "--profile", "smoke", "--results", str(tmp_path), "--population-size", "10"]
    command += ["--dense-population-size", "10", "--executor", "ray", "--ray-address", head_node.address, "--quiet"]
    driver = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=head_node.environment,
        preexec_fn=default_sigint,
    )
    pop_dir = store.population_dir(tmp_path, settings)
    deadline = time.monotonic() + 300  # bounds on hangs, not pauses: long enough for a machine 3x slower
    while not list(pop_dir.glob("sparsity-*/model-*/" + folders.DONE_FILE)) and time.monotonic() < deadline:
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 130, stderr
    assert "interrupted: finished work is kept" in stderr
    deadline = time.monotonic() + 60  # the cluster lives on, but runs none of the driver's tasks
    while task_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not task_processes()
    finished = [
        (s, i) for s, i in planned_runs(settings) if folders.is_finished(store.run_dir(pop_dir, s, i), verify=True)
    ]
    assert 0 < len(finished) < len(planned_runs(settings))
    for run in pop_dir.glob("sparsity-*/model-*"):  # a run is finished with all its checksums, or not marked so
        assert folders.is_finished(run) or not (run / folders.DONE_FILE).exists()
    report = train_population(settings, tmp_path, progress=False)  # the local executor finishes the rest
    assert report.trained == len(planned_runs(settings)) - len(finished)
    assert_complete_and_clean(tmp_path, settings)


def test_when_a_node_dies_its_tasks_finish_on_the_others(smoke_population, tmp_path):
    """Two Ray nodes on this machine (Ray's own test cluster); one is removed without warning mid-run."""
    from ray.cluster_utils import Cluster

    local_results, settings = smoke_population
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    doomed = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level=logging.WARNING)
    pop_dir = store.population_dir(tmp_path, settings)
    removed, stop = [], threading.Event()

    def remove_the_node() -> None:
        while len(list(pop_dir.glob("sparsity-*/model-*/" + folders.DONE_FILE))) < 3 and not stop.is_set():
            time.sleep(0.02)
        if not stop.is_set():
            cluster.remove_node(doomed, allow_graceful=False)
            removed.append(len(list(pop_dir.glob("sparsity-*/model-*/" + folders.DONE_FILE))))

    remover, watcher = threading.Thread(target=remove_the_node), DoneWatcher(pop_dir)
    remover.start()
    watcher.start()
    try:
        report = train_population(settings, tmp_path, progress=False, executor=RAY)
    finally:
        stop.set()
        remover.join()
        ray.shutdown()
        cluster.shutdown()
    assert watcher.rewritten() == []
    assert removed and removed[0] < len(planned_runs(settings))  # the node died with runs left to train
    assert report.trained == len(planned_runs(settings))
    assert_complete_and_clean(tmp_path, settings)
    assert_same_predictions(tmp_path, local_results, settings)
