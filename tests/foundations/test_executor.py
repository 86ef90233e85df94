import os
import sys

import pytest
import torch

from pruning_impact.cli import main
from pruning_impact.foundations.errors import ExecutorError, JobsFailedError, NodeError, SettingsError
from pruning_impact.foundations.executor import (
    RAY_INSTALL,
    THREAD_VARIABLES,
    ExecutorOptions,
    LocalExecutor,
    Outcome,
    Progress,
    raise_failures,
    run_jobs,
)
from pruning_impact.foundations.machine import cpu_count
from pruning_impact.foundations.provenance import package_digest
from pruning_impact.foundations.ray_executor import RayExecutor, _run_task
from pruning_impact.training.inference import autocast, mixed_precision, native_bfloat16


def square(x: int) -> int:
    return x * x


def threads_and_pid(_: int) -> tuple[int, int]:
    return torch.get_num_threads(), os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("job 3 failed")
    return x


@pytest.mark.parametrize("workers", [1, 2])
def test_every_job_runs_once_and_returns_its_result(workers):
    found = dict(run_jobs(square, range(7), workers))
    assert found == {x: x * x for x in range(7)}


def test_workers_are_other_processes_with_their_share_of_the_threads():
    before = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    found = [result for _, result in run_jobs(threads_and_pid, range(4), workers=2)]
    assert all(pid != os.getpid() for _, pid in found)
    assert len({pid for _, pid in found}) <= 2
    assert all(threads == max(cpu_count() // 2, 1) for threads, _ in found)
    assert {name: os.environ.get(name) for name in THREAD_VARIABLES} == before  # the parent's are restored


def test_a_single_job_still_runs_in_a_worker_with_a_workers_threads():
    """A model's numbers depend on its threads: the last model of a resumed run gets what the others got."""
    ((_, (threads, pid)),) = list(run_jobs(threads_and_pid, [0], workers=2))
    assert pid != os.getpid() and threads == max(cpu_count() // 2, 1)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_job_raises_its_own_error(workers):
    with pytest.raises(ValueError, match="job 3 failed"):
        list(run_jobs(fail_on_three, range(6), workers))


def test_mixed_precision_only_where_it_is_asked_for_and_native():
    cpu = torch.device("cpu")
    assert mixed_precision(cpu, amp=False) is None
    assert mixed_precision(cpu, amp=True) == (torch.bfloat16 if native_bfloat16() else None)
    assert mixed_precision(torch.device("cuda"), amp=True) == torch.float16
    with autocast(cpu, None):
        assert not torch.is_autocast_enabled("cpu")
    with autocast(cpu, torch.bfloat16):
        assert torch.is_autocast_enabled("cpu")


def test_executor_options_are_checked():
    assert LocalExecutor(2).flags() == " --workers 2" and LocalExecutor(2).describe() == "2 worker processes"
    with pytest.raises(SettingsError, match="choose one of local, ray"):
        ExecutorOptions(kind="slurm")
    with pytest.raises(SettingsError, match="--cpus-per-task"):
        ExecutorOptions(kind="ray", workers=2)
    with pytest.raises(SettingsError, match="--ray-address needs --executor ray"):
        ExecutorOptions(ray_address="auto")


def test_without_ray_the_ray_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ExecutorError) as error:
        RayExecutor()
    assert str(error.value) == f"the ray executor needs Ray, an optional extra: {RAY_INSTALL}"


def test_the_command_line_refuses_mixed_executor_flags(capsys):
    assert main(["train", "--profile", "smoke", "--executor", "ray", "--workers", "2"]) == 2
    assert "--workers is for the local executor" in capsys.readouterr().err
    assert main(["robustness", "--profile", "smoke", "--ray-address", "auto"]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


def test_progress_shows_running_failed_and_seconds_per_model(capsys):
    progress = Progress(total=6, done=1, desc="test", size=len)
    progress.set_running(2)
    progress.finished(Outcome(job=[1, 2], value=None, seconds=3.0), last="a")
    progress.finished(Outcome(job=[3], error="broken"))
    assert progress.bar.n == 3  # one done before, two now
    assert (progress.running, progress.failed) == (2, 1)
    assert progress.bar.postfix == "running=2, failed=1, s/model=1.5, last=a"
    progress.close()
    assert "3/6" in capsys.readouterr().err


def test_failures_are_listed_with_the_command_that_retries_them():
    raise_failures([], str, 3, "retry")  # nothing failed: nothing raised
    failed = [Outcome(job=f"job {i}", error=f"error {i}") for i in range(12)]
    with pytest.raises(JobsFailedError) as error:
        raise_failures(failed, str, 20, "Run it again.")
    lines = str(error.value).splitlines()
    assert lines[0] == "12 of 20 jobs failed on every attempt; the other 8 finished and are stored:"
    assert lines[1:3] == ["  job 0: error 0", "  job 1: error 1"]
    assert lines[-2:] == ["  and 2 more", "Run it again."]


class _StartedActor:
    """Stands for the Ray actor a task tells that it has started (``started.add.remote(index)``)."""

    def __init__(self):
        self.add, self.indices = self, []

    def remote(self, index):
        self.indices.append(index)


def test_a_ray_task_refuses_a_node_that_runs_other_code(monkeypatch):
    for name in THREAD_VARIABLES:  # the task sets them, and torch's threads: restored after the test
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)
    started = _StartedActor()
    with pytest.raises(NodeError, match="runs other pruning-impact code than the driver"):
        _run_task(square, 3, 1, "0" * 64, started, 0)
    assert started.indices == []
    assert _run_task(square, 3, 1, package_digest(), started, 7)[0] == 9
    assert started.indices == [7]
