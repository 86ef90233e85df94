import os

import pytest
import torch

from pruning_impact.executor import THREAD_VARIABLES, cpu_count, run_jobs
from pruning_impact.inference import autocast, mixed_precision, native_bfloat16


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
