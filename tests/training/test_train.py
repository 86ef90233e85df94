import numpy as np
import pytest

from pruning_impact.foundations.errors import TrainingDivergedError
from pruning_impact.foundations.settings import TrainSettings
from pruning_impact.training.pruning import kept_count, prunable_modules
from pruning_impact.training.train import lr_at, train_model


def test_same_seed_same_predictions(smoke_settings):
    a = train_model(smoke_settings, 0.5, seed=11, progress=False)
    b = train_model(smoke_settings, 0.5, seed=11, progress=False)
    c = train_model(smoke_settings, 0.5, seed=12, progress=False)
    np.testing.assert_array_equal(a.logits, b.logits)
    assert not np.array_equal(a.logits, c.logits)


def test_trained_model_learns_and_has_exact_layer_sparsity(smoke_settings):
    trained = train_model(smoke_settings, 0.9, seed=0, progress=False)
    assert trained.metrics["top1"] > 0.2  # 10 classes: chance is 0.1
    state = trained.model.state_dict()
    assert not any("parametrizations" in key for key in state)
    layers = prunable_modules(trained.model)
    assert set(layers) == set(trained.metrics["layer_sparsity"])
    for name in layers:
        weight = state[f"{name}.weight"]
        assert int((weight != 0).sum()) == kept_count(weight.numel(), 0.9)
    classifier = state["classifier.weight"]
    assert int((classifier == 0).sum()) == 0  # the final layer is not pruned


@pytest.mark.parametrize("update", ["masked", "straight_through"])
def test_both_update_rules_train(smoke_settings, update):
    settings = smoke_settings.replace(pruning={"update": update})
    trained = train_model(settings, 0.5, seed=0, progress=False)
    assert trained.metrics["top1"] > 0.3
    for module in prunable_modules(trained.model).values():
        assert int((module.weight != 0).sum()) == kept_count(module.weight.numel(), 0.5)


def test_nan_loss_stops_with_a_clear_message(smoke_settings):
    settings = smoke_settings.replace(training={"lr": 1e30})
    with pytest.raises(TrainingDivergedError, match="lower training.lr"):
        train_model(settings, 0.0, seed=0, progress=False)


def test_learning_rate_schedules():
    onecycle = TrainSettings(steps=100, lr=1.0, lr_schedule="onecycle")
    assert lr_at(0, onecycle) == pytest.approx(1 / 25)
    assert lr_at(25, onecycle) == pytest.approx(1.0)
    assert lr_at(100, onecycle) == pytest.approx(0.0, abs=1e-9)
    step = TrainSettings(steps=100, lr=1.0, lr_schedule="step", warmup_steps=10, lr_milestones=(0.5, 0.8), lr_gamma=0.1)
    assert lr_at(0, step) == pytest.approx(0.1) and lr_at(9, step) == pytest.approx(1.0)
    assert lr_at(49, step) == pytest.approx(1.0) and lr_at(50, step) == pytest.approx(0.1)
    assert lr_at(80, step) == pytest.approx(0.01)


def test_a_model_that_misses_its_sparsity_stops_training(smoke_settings, monkeypatch):
    from torch.nn.utils import parametrize

    from pruning_impact.training.pruning import Pruner

    def finalize_without_masks(self):
        for module in self.modules.values():
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)

    monkeypatch.setattr(Pruner, "finalize", finalize_without_masks)
    with pytest.raises(RuntimeError, match="pruning to 0.9 failed: features.0: 72 of 72 weights are non-zero"):
        train_model(smoke_settings, 0.9, seed=0, progress=False)


@pytest.mark.parametrize("bn_weight_decay", [True, False])
def test_batch_norm_weight_decay_option(bn_weight_decay):
    import torch
    from torch import nn

    from pruning_impact.training.train import build_optimizer

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(3, 2))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5), model[1].bias.uniform_(0.5, 1.5)
    settings = TrainSettings(lr=0.5, momentum=0.9, weight_decay=0.1, bn_weight_decay=bn_weight_decay)
    optimizer = build_optimizer(model, settings)
    norm = {id(model[1].weight), id(model[1].bias)}
    for group in optimizer.param_groups:
        in_group = {id(p) for p in group["params"]}
        if not bn_weight_decay and in_group & norm:
            assert in_group == norm and group["weight_decay"] == 0.0
        else:
            assert group["weight_decay"] == 0.1
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))

    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    # with a zero gradient only weight decay moves a parameter: first Nesterov step is lr (1 + m) wd w
    shrink = 1 - 0.5 * (1 + 0.9) * 0.1
    for name, p in model.named_parameters():
        is_norm = name.startswith("1.")
        expected = before[name] if (is_norm and not bn_weight_decay) else before[name] * shrink
        torch.testing.assert_close(p.detach(), expected)
