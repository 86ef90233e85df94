"""Models trained together as one grouped network train as they would alone (the GPU path's CPU fallback)."""

import pytest
import torch

from pruning_impact.foundations import store
from pruning_impact.foundations.errors import SettingsError
from pruning_impact.foundations.executor import ExecutorOptions
from pruning_impact.foundations.settings import ModelSettings
from pruning_impact.training.grouped import GroupedSmallCNN, train_group
from pruning_impact.training.models import build_model
from pruning_impact.training.population import train_population
from pruning_impact.training.train import train_model

SHAPES = [
    (ModelSettings(widths=(8, 16)), (1, 12, 12)),
    (ModelSettings(downsample="stride", head="flatten"), (3, 28, 28)),
]


def models_of(settings, shape, seeds):
    out = []
    for seed in seeds:
        torch.manual_seed(seed)
        out.append(build_model(settings, shape, 10))
    return out


@pytest.mark.parametrize("settings, shape", SHAPES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_group_computes_what_its_models_compute(settings, shape, mode):
    models = models_of(settings, shape, [1, 2, 3])
    group = GroupedSmallCNN(models)
    inputs = [torch.randn(5, *shape) for _ in models]
    for module in [group, *models]:
        module.train(mode == "train")
    together = group(torch.cat(inputs, dim=1))
    assert together.shape == (5, 3, 10)
    for m, (model, x) in enumerate(zip(models, inputs)):
        torch.testing.assert_close(together[:, m], model(x), atol=1e-5, rtol=1e-4)


def test_split_gives_back_every_parameter_and_statistic():
    settings, shape = SHAPES[1]
    models = models_of(settings, shape, [4, 5])
    group = GroupedSmallCNN(models)
    group.train()(torch.randn(8, 2 * shape[0], *shape[1:]))  # moves the batch-norm statistics
    fresh = models_of(settings, shape, [6, 7])
    group.split(fresh)
    for m, model in enumerate(fresh):
        state = model.state_dict()
        torch.testing.assert_close(state["classifier.weight"], group.weight[m])
        bn = next(k for k in state if k.endswith("running_mean"))
        torch.testing.assert_close(state[bn], group.state_dict()[bn].chunk(2)[m])


def test_models_trained_together_match_models_trained_alone(smoke_settings):
    """A few steps with pruning at every step: same weights as alone (float32, up to rounding), each model
    pruned exactly to its own sparsity."""
    settings = smoke_settings.replace(
        training={"steps": 4, "amp": False, "checkpoints": 0}, pruning={"begin_step": 0, "end_step": 3, "frequency": 1}
    )
    runs = [(0.0, 11), (0.5, 12), (0.9, 13)]
    together = list(train_group(settings, runs, progress=False))
    for (sparsity, seed), grouped in zip(runs, together):
        alone = train_model(settings, sparsity, seed, progress=False)
        assert grouped.metrics["sparsity"] == sparsity and grouped.metrics["seed"] == seed
        for name, tensor in alone.model.state_dict().items():
            torch.testing.assert_close(grouped.model.state_dict()[name], tensor, atol=1e-4, rtol=1e-3, msg=name)
        assert grouped.metrics["layer_sparsity"] == alone.metrics["layer_sparsity"]


def test_a_population_trained_in_groups_is_complete_and_resumable(tmp_path, smoke_settings):
    settings = smoke_settings.replace(
        population={"sparsities": (0.0, 0.9), "population_size": 3, "dense_population_size": 2},
        training={"models_per_step": 2, "checkpoints": 0},
    )
    report = train_population(settings, tmp_path, progress=False, executor=ExecutorOptions(workers=1))
    assert report.trained == 5  # groups of 2, 2 and 1
    for sparsity, k in ((0.0, 2), (0.9, 3)):
        assert store.finished_indices(report.directory, sparsity, verify=True) == list(range(k))
    top1 = [store.load_run_metrics(store.run_dir(report.directory, 0.0, i))["top1"] for i in range(2)]
    assert min(top1) > 0.5  # they learned
    assert train_population(settings, tmp_path, progress=False, executor=ExecutorOptions(workers=1)).trained == 0


def test_dense_models_that_keep_checkpoints_train_alone(tmp_path, smoke_settings):
    settings = smoke_settings.replace(
        population={"sparsities": (0.0, 0.9), "population_size": 2, "dense_population_size": 2},
        training={"models_per_step": 2, "checkpoints": 2},
    )
    with pytest.raises(SettingsError, match="checkpoints"):  # a group cannot keep them
        list(train_group(settings, [(0.0, 1), (0.9, 2)], progress=False))
    report = train_population(settings, tmp_path, progress=False, executor=ExecutorOptions(workers=1))
    assert report.trained == 4
    for index in range(2):
        assert len(store.checkpoint_files(store.run_dir(report.directory, 0.0, index))) == 2
        assert store.checkpoint_files(store.run_dir(report.directory, 0.9, index)) == []


def test_only_small_cnns_train_together(smoke_settings):
    settings = smoke_settings.replace(model={"arch": "wrn", "depth": 10, "widen_factor": 1})
    with pytest.raises(SettingsError, match="models_per_step"):
        list(train_group(settings, [(0.0, 1), (0.0, 2)], progress=False))
