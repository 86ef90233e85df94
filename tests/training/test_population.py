import json
import os

import numpy as np
import pytest
import torch

from pruning_impact.cli import main
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import MissingResultsError, NodeError
from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.machine import cpu_count
from pruning_impact.training.population import _train_and_store, model_seed, planned_runs, train_population


def run_mtimes(pop_dir):
    return {
        p.parent.name + "/" + p.parent.parent.name: p.stat().st_mtime_ns
        for p in pop_dir.glob("sparsity-*/model-*/DONE")
    }


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_smoke_population_end_to_end_through_the_cli(tmp_path, capsys, smoke_settings):
    results = tmp_path / "results"
    assert main(["train", "--profile", "smoke", "--results", str(results), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Trained 15 model(s), kept 0" in out
    pop_dir = store.population_dir(results, smoke_settings)
    for sparsity in (0.0, 0.5, 0.9):
        predictions, labels = store.load_predictions(results, "smoke", sparsity)
        assert predictions.shape == (smoke_settings.population.size_at(sparsity), 400)
        assert predictions.dtype == np.int64 and labels.shape == (400,)
        run = store.run_dir(pop_dir, sparsity, 0)
        for name in (
            "model.pt",
            "predictions.npy",
            "top5.npy",
            "top5_prob.npy",
            "logits.npy",
            "metrics.json",
            "run.json",
            "DONE",
        ):
            assert (run / name).is_file(), name
        top5 = np.load(run / "top5.npy")
        np.testing.assert_array_equal(top5[:, 0], predictions[0])
        assert np.load(run / "top5_prob.npy").dtype == np.float16
        np.testing.assert_array_equal(np.load(run / "logits.npy").argmax(1), predictions[0])
        info = json.loads((run / "run.json").read_text())
        assert info["provenance"]["code_version"] and info["settings"]["profile"] == "smoke"
    # a second run trains nothing
    assert main(["train", "--profile", "smoke", "--results", str(results), "--quiet"]) == 0
    assert "Trained 0 model(s), kept 15" in capsys.readouterr().out
    assert main(["status", "--profile", "smoke", "--results", str(results)]) == 0
    status = capsys.readouterr().out
    assert "missing" not in status and "0.90" in status


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_resume_after_crash_and_damage(tmp_path, smoke_settings):
    settings = smoke_settings.replace(
        population={"sparsities": (0.0, 0.5), "population_size": 2, "dense_population_size": 2}
    )
    report = train_population(settings, tmp_path, progress=False)
    assert report.trained == 4
    pop_dir = report.directory
    before = run_mtimes(pop_dir)
    crashed = store.run_dir(pop_dir, 0.5, 1)
    (crashed / "DONE").unlink()  # killed before DONE was written
    (crashed / "predictions.npy").write_bytes(b"half a file")
    damaged = store.run_dir(pop_dir, 0.0, 0)
    with open(damaged / "predictions.npy", "r+b") as f:  # one flipped byte
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    assert not folders.is_finished(crashed) and not folders.is_finished(damaged)
    report = train_population(settings, tmp_path, progress=False)
    assert (report.trained, report.skipped) == (2, 2)
    after = run_mtimes(pop_dir)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"model-01/sparsity-0.50", "model-00/sparsity-0.00"}
    assert folders.is_finished(crashed) and folders.is_finished(damaged)


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_rerun_is_deterministic(tmp_path, smoke_settings):
    settings = smoke_settings.replace(population={"sparsities": (0.5,), "population_size": 2})
    train_population(settings, tmp_path / "a", progress=False)
    train_population(settings, tmp_path / "b", progress=False)
    a, _ = store.load_predictions(tmp_path / "a", settings, 0.5)
    b, _ = store.load_predictions(tmp_path / "b", settings, 0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # different models have different seeds


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_worker_processes_train_the_same_models_as_this_process_with_the_same_threads(tmp_path, smoke_settings):
    """Two workers store exactly what one process stores with the threads each worker has."""
    settings = smoke_settings.replace(
        population={"sparsities": (0.0, 0.5), "population_size": 2, "dense_population_size": 2}
    )
    parallel = train_population(settings, tmp_path / "parallel", progress=False, executor=ExecutorOptions(workers=2))
    threads = torch.get_num_threads()
    torch.set_num_threads(max(cpu_count() // 2, 1))  # what each of two workers gets
    try:
        serial = train_population(settings, tmp_path / "serial", progress=False, executor=ExecutorOptions(workers=1))
    finally:
        torch.set_num_threads(threads)
    assert parallel.trained == serial.trained == 4
    for sparsity in (0.0, 0.5):
        a, _ = store.load_predictions(tmp_path / "parallel", settings, sparsity)
        b, _ = store.load_predictions(tmp_path / "serial", settings, sparsity)
        np.testing.assert_array_equal(a, b)
    assert (
        train_population(settings, tmp_path / "parallel", progress=False, executor=ExecutorOptions(workers=2)).trained
        == 0
    )


def test_missing_runs_name_the_command(tmp_path):
    with pytest.raises(MissingResultsError, match="pruning-impact train --profile smoke"):
        store.load_predictions(tmp_path, "smoke", 0.5)


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["train", "--profile", "nope", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown profile 'nope'") and "Traceback" not in err
    assert main(["train", "--profile", "smoke", "--sparsities", "0", "1.2", "--results", str(tmp_path)]) == 2
    assert "population.sparsities" in capsys.readouterr().err
    assert main(["train", "--profile", "smoke", "--population-size", "0", "--results", str(tmp_path)]) == 2
    assert "population_size" in capsys.readouterr().err


def test_seeds_and_plan(smoke_settings):
    runs = planned_runs(smoke_settings)
    assert len(runs) == 9 + 3 + 3 and runs[:3] == [(0.0, 0), (0.5, 0), (0.9, 0)]
    seeds = {model_seed(smoke_settings, s, i) for s, i in runs}
    assert len(seeds) == len(runs)
    assert model_seed(smoke_settings, 0.5, 1) == model_seed(smoke_settings.replace(training={"device": "cpu"}), 0.5, 1)


def test_a_loaded_model_is_checked_against_its_sparsity(smoke_population, tmp_path):
    import shutil

    import torch

    from pruning_impact.foundations.errors import DamagedResultsError
    from pruning_impact.training.datasets import load_dataset
    from pruning_impact.training.population import load_model
    from pruning_impact.training.pruning import kept_count, prunable_modules

    results, settings = smoke_population
    pop_dir = store.population_dir(results, settings)
    data = load_dataset(settings.data)
    model = load_model(settings, store.run_dir(pop_dir, 0.9, 0), data, torch.device("cpu"))
    for module in prunable_modules(model).values():
        assert int((module.weight != 0).sum()) == kept_count(module.weight.numel(), 0.9)
    swapped = tmp_path / "model-00"
    shutil.copytree(store.run_dir(pop_dir, 0.9, 0), swapped)
    shutil.copy2(store.model_file(store.run_dir(pop_dir, 0.5, 0)), store.model_file(swapped))  # a 50% model
    with pytest.raises(DamagedResultsError, match="not pruned as its run says.*Delete that folder"):
        load_model(settings, swapped, data, torch.device("cpu"))


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_a_job_started_again_keeps_the_runs_it_finds_finished(tmp_path, smoke_settings):
    """A Ray task started again after its worker died may find its runs stored: they are not trained twice."""
    settings = smoke_settings.replace(
        population={"sparsities": (0.0,), "population_size": 2, "dense_population_size": 2}
    )
    report = train_population(settings, tmp_path, progress=False)
    done = store.run_dir(report.directory, 0.0, 1) / folders.DONE_FILE
    stamp = done.stat().st_mtime_ns
    folders.clear(store.run_dir(report.directory, 0.0, 0))  # one run of the job is missing, one finished
    metrics = _train_and_store((settings, report.directory, [(0.0, 0), (0.0, 1)], False))
    assert done.stat().st_mtime_ns == stamp
    assert [m["seed"] for m in metrics] == [model_seed(settings, 0.0, i) for i in (0, 1)]
    assert store.finished_indices(report.directory, 0.0, verify=True) == [0, 1]


def test_a_worker_that_does_not_see_the_population_folder_says_so(tmp_path, smoke_settings):
    with pytest.raises(NodeError, match="does not see the population folder .* share the results folder"):
        _train_and_store((smoke_settings, tmp_path / "elsewhere", [(0.0, 0)], False))
