import pytest
import torch
from torch import nn

from pruning_impact.foundations.errors import SettingsError
from pruning_impact.training.pruning import (
    PolynomialDecay,
    Pruner,
    kept_count,
    layer_sparsities,
    magnitude_masks,
    prunable_modules,
    sparsity_problems,
)

SCHEDULE = PolynomialDecay(initial_sparsity=0.1, final_sparsity=0.9, begin_step=100, end_step=300, frequency=50)


@pytest.mark.parametrize(
    "step, expected",
    [
        (0, 0.1),
        (99, 0.1),
        (100, 0.1),
        (200, 0.9 + (0.1 - 0.9) * 0.5**3),
        (150, 0.9 + (0.1 - 0.9) * 0.75**3),
        (300, 0.9),
        (301, 0.9),
        (10_000, 0.9),
    ],
)
def test_schedule_values(step, expected):
    assert SCHEDULE.sparsity_at(step) == pytest.approx(expected, abs=1e-12)


def test_schedule_is_monotone_between_begin_and_end():
    values = [SCHEDULE.sparsity_at(s) for s in range(0, 400)]
    assert all(a <= b for a, b in zip(values, values[1:]))


def test_update_steps():
    assert SCHEDULE.update_steps() == [100, 150, 200, 250, 300]
    uneven = PolynomialDecay(0, 0.5, begin_step=10, end_step=45, frequency=10)
    assert uneven.update_steps() == [10, 20, 30, 40, 45]
    assert not uneven.is_update_step(9) and not uneven.is_update_step(50) and not uneven.is_update_step(15)


@pytest.mark.parametrize("kwargs", [dict(begin_step=5, end_step=5), dict(frequency=0), dict(final_sparsity=1.0)])
def test_schedule_refuses_bad_values(kwargs):
    base = dict(initial_sparsity=0, final_sparsity=0.5, begin_step=0, end_step=10, frequency=1)
    with pytest.raises(SettingsError):
        PolynomialDecay(**{**base, **kwargs})


def _weights(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "a": torch.randn(7, 5, generator=g),
        "b": torch.randn(3, 3, 3, 3, generator=g),
        "c": torch.randn(11, generator=g),
    }


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.33, 0.5, 0.9, 0.99])
def test_layer_masks_keep_exact_counts_and_separate_by_magnitude(sparsity):
    weights = _weights()
    masks = magnitude_masks(weights, sparsity, "layer")
    for name, w in weights.items():
        mask = masks[name]
        assert mask.dtype == torch.bool and mask.shape == w.shape
        assert int(mask.sum()) == kept_count(w.numel(), sparsity) == round(w.numel() * (1 - sparsity))
        if 0 < mask.sum() < w.numel():
            assert w.abs()[mask].min() >= w.abs()[~mask].max()


@pytest.mark.parametrize("sparsity", [0.2, 0.5, 0.8])
def test_global_masks_rank_all_weights_together(sparsity):
    weights = _weights(1)
    weights["b"] = weights["b"] * 10  # one tensor of large weights keeps more than its share
    masks = magnitude_masks(weights, sparsity, "global")
    total = sum(w.numel() for w in weights.values())
    assert sum(int(m.sum()) for m in masks.values()) == round(total * (1 - sparsity))
    kept = torch.cat([w.abs()[masks[n]] for n, w in weights.items()])
    dropped = torch.cat([w.abs()[~masks[n]] for n, w in weights.items()])
    assert kept.min() >= dropped.max()
    assert masks["b"].float().mean() > 1 - sparsity


def test_unknown_scope_refused():
    with pytest.raises(ValueError, match="scope"):
        magnitude_masks(_weights(), 0.5, "filter")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.hidden = nn.Linear(16, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(torch.relu(self.conv(x)).flatten(1))))


def test_prunable_modules_skip_final_layer_unless_asked():
    assert set(prunable_modules(Net())) == {"conv", "hidden"}
    assert set(prunable_modules(Net(), prune_final_layer=True)) == {"conv", "hidden", "out"}


@pytest.mark.parametrize("update", ["masked", "straight_through"])
def test_pruned_weight_grows_back_before_end_and_mask_is_fixed_after(update):
    torch.manual_seed(0)
    net = Net()
    schedule = PolynomialDecay(0.0, 0.75, begin_step=0, end_step=20, frequency=10)
    pruner = Pruner(net, schedule, update=update)
    pruner.step(0)  # sparsity 0 at begin_step
    pruner.step(10)
    raw = pruner.raw_weights()["hidden"]
    mask = pruner.masks()["hidden"]
    assert 0 < mask.sum() < mask.numel()
    pruned = (~mask).nonzero()[0].tolist()
    with torch.no_grad():
        raw[tuple(pruned)] = raw.abs().max() * 10  # grows back above the threshold
    pruner.step(15)  # not an update step: nothing changes yet
    assert not pruner.masks()["hidden"][tuple(pruned)]
    pruner.step(20)  # end_step: last update
    assert pruner.masks()["hidden"][tuple(pruned)]
    fixed = {n: m.clone() for n, m in pruner.masks().items()}
    with torch.no_grad():
        for w in pruner.raw_weights().values():
            w.copy_(torch.randn_like(w))
    for step in (21, 30, 40, 1000):
        pruner.step(step)
    assert all(torch.equal(fixed[n], m) for n, m in pruner.masks().items())
    assert all(int(m.sum()) == kept_count(m.numel(), 0.75) for m in fixed.values())


@pytest.mark.parametrize("update, pruned_grad_is_zero", [("masked", True), ("straight_through", False)])
def test_update_rules_differ_in_the_gradient_of_pruned_weights(update, pruned_grad_is_zero):
    torch.manual_seed(0)
    net = Net()
    pruner = Pruner(net, PolynomialDecay(0.0, 0.5, 0, 10, 5), update=update)
    pruner.step(10)
    net(torch.randn(8, 1, 4, 4)).square().sum().backward()
    for name, raw in pruner.raw_weights().items():
        pruned_grad = raw.grad[~pruner.masks()[name]]
        assert (pruned_grad.abs().max() == 0) == pruned_grad_is_zero


@pytest.mark.parametrize("update", ["masked", "straight_through"])
def test_forward_uses_masked_weights_and_finalize_leaves_exact_zeros(update):
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(4, 1, 4, 4)
    pruner = Pruner(net, PolynomialDecay(0.0, 0.6, 0, 10, 5), update=update)
    pruner.step(10)
    expected = net(x)
    pruner.finalize()
    assert torch.allclose(net(x), expected)
    sparsities = layer_sparsities(net)
    assert sparsities["conv"] == pytest.approx(1 - kept_count(36, 0.6) / 36)
    assert sparsities["hidden"] == pytest.approx(1 - kept_count(128, 0.6) / 128)
    assert not any("parametrizations" in k for k in net.state_dict())


def test_sparsity_check_catches_under_and_over_pruned_models():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 8), nn.Linear(8, 3))
    pruner = Pruner(model, PolynomialDecay(0.0, 0.7, 0, 1, 1))
    pruner.step(1)
    pruner.finalize()
    assert sparsity_problems(model, 0.7) == []
    assert sparsity_problems(model, 0.9) != []  # not pruned as far as said
    problems = sparsity_problems(model, 0.5)  # pruned further than said
    assert len(problems) == 2 and problems[0].startswith("0: 11 of 36 weights are non-zero")
    with torch.no_grad():
        model[2].weight.fill_(1.0)  # a layer that lost its mask
    assert [p.split(":")[0] for p in sparsity_problems(model, 0.7)] == ["2"]
    assert sparsity_problems(model, 0.7, scope="global")  # the total is off too
