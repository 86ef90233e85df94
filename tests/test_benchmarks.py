"""The benchmark scripts run (on tiny sizes): they must not rot while the package changes."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benchmark scripts in subprocesses

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script, *args):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("predictions", ["imagenet-like", "uniform"])
def test_analysis_scale_runs_and_ends_with_its_figures(predictions):
    import re

    out = run("analysis_scale.py", "--predictions", predictions, "--k", "4", "--n", "300", "--classes", "10")
    assert f"{predictions} predictions, K=4 x 5 sparse levels and 12 dense models, N=300, C=10" in out
    assert "CPU:" in out and "permutations=1000" in out
    assert re.fullmatch(r"seconds=\d+\.\d\d peak_mib=\d+", out.strip().splitlines()[-1])


def test_gpu_check_falls_back_to_the_cpu_at_tiny_sizes():
    out = run("gpu_check.py", "--tiny", "--device", "cpu", "--seconds", "0.2", "--group", "2")
    assert "(cpu); data: synthetic" in out or "(cpu); data: CIFAR-10" in out
    for line in (
        "training single: ",
        "training grouped x2: ",
        "robustness: corrupting ",
        "paper's CIFAR-10 population",
    ):
        assert line in out
    assert "failed" not in out


def test_train_one_runs():
    out = run("train_one.py", "--profile", "smoke", "--sparsity", "0.5")
    assert "profile smoke sparsity 0.5" in out and "top-1" in out


def test_verdict_calibration_runs_and_ends_with_its_summary_line(tmp_path):
    import re

    out = run("verdict_calibration.py", "--simulations", "1", "--workers", "1", "--results", str(tmp_path))
    assert re.search(r"^null_max=\d\.\d{3} planted_min=\d\.\d{3}$", out.strip().splitlines()[-1])
    assert "fit from DEFAULT_FIT" in out and "no-effect" in out and "noise-grows" in out
    assert re.search(r"^claim \S+ not counted: ", out, re.MULTILINE)


def test_train_throughput_runs_and_ends_with_its_ratio():
    import re

    out = run("train_throughput.py", "--profile", "smoke", "--quick")
    assert "plain loop" in out and "of the matrix product" in out
    assert re.fullmatch(r"ratio=\d+\.\d\d", out.strip().splitlines()[-1])


def test_population_time_runs_and_ends_with_its_estimate():
    import re

    out = run("population_time.py", "--profile", "smoke", "--k", "1", "--workers", "1")
    assert "machine:" in out and "models trained" in out
    assert re.fullmatch(r"minutes=\d+\.\d", out.strip().splitlines()[-1])


def test_inference_throughput_runs_and_ends_with_its_ratio():
    import re

    out = run("inference_throughput.py", "--profile", "smoke", "--rounds", "1")
    assert "training:" in out and "inference:" in out
    assert re.fullmatch(r"ratio=\d+\.\d\d", out.strip().splitlines()[-1])


def test_architectures_runs():
    out = run("architectures.py", "--profile", "smoke", "--epochs", "1", "--only", "old", "strided-flat")
    assert "strided-flat" in out and "old" in out and "machine:" in out


@pytest.mark.ray  # in the Ray tests' worker under make test: one Ray instance at a time
def test_ray_overhead_runs_and_ends_with_its_overhead():
    import re

    out = run("ray_overhead.py", "--k", "2", "--small", "1", "--rounds", "1")
    assert "machine:" in out and "same predictions" in out and "fixed per command" in out
    assert re.fullmatch(r"overhead_per_task_ms=-?\d+", out.strip().splitlines()[-1])


def test_classroom_time_runs_and_states_the_effects():
    out = run("classroom_time.py", "--profile", "smoke")
    assert "CPU:" in out and "profile smoke: 15 models; train" in out
    assert "classes significant (A/A mean" in out and "PIEs (noise floor mean" in out
    assert "slower kind (AVX2 only):" in out.splitlines()[-1]


@pytest.mark.browser
def test_exemplar_browser_benchmark_runs_and_ends_with_its_load_time():
    import re

    from pruning_impact.book.headless import chromium

    if chromium() is None:
        pytest.skip("needs Debian's chromium (make test installs it)")
    out = run("exemplar_browser.py", "--synthetic", "500")
    assert "machine:" in out and "page opened with 500 images" in out and "PIEs only:" in out
    assert re.fullmatch(r"load_seconds=\d+\.\d\d", out.strip().splitlines()[-1])


def test_methods_time_runs_on_a_trained_population(smoke_population):
    results, _ = smoke_population
    out = run("methods_time.py", "--profile", "smoke", "--results", str(results))
    assert "machine:" in out and "make populations" in out and "on the slower kind, scaled:" in out
    assert "quantize-int8" in out.splitlines()[-1]


def test_robustness_budget_runs_on_an_evaluated_population(smoke_book_results, smoke_settings):
    import re

    from pruning_impact.foundations import store
    from pruning_impact.foundations.options import RobustnessOptions

    population = store.population_dir(smoke_book_results, smoke_settings).name
    evaluated = RobustnessOptions()  # as the smoke book evaluated it
    out = run(
        "robustness_budget.py",
        *("--results", str(smoke_book_results), "--population", population, "--repeats", "1"),
        *("--subsample", str(evaluated.subsample), "--adversarial-subsample", str(evaluated.adversarial_subsample)),
    )
    assert "repeats per budget" in out
    assert re.fullmatch(r"stable_at corruptions=\S+ adversarial=\S+", out.strip().splitlines()[-1])
