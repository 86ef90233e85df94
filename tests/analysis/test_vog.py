import numpy as np
import pytest
import torch

from pruning_impact.analysis.vog import checkpoint_models, class_standardised, model_vog, vog_scores
from pruning_impact.foundations import store
from pruning_impact.foundations.errors import MissingResultsError
from pruning_impact.foundations.settings import TrainSettings
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.models import build_model
from pruning_impact.training.population import run_finished
from pruning_impact.training.train import checkpoint_steps

CPU = torch.device("cpu")


def test_checkpoint_steps_are_evenly_spaced_and_end_with_training():
    assert checkpoint_steps(TrainSettings(steps=468, checkpoints=4)) == [117, 234, 351, 468]
    assert checkpoint_steps(TrainSettings(steps=150, checkpoints=0)) == []


def test_dense_runs_keep_their_checkpoints(smoke_population):
    results, settings = smoke_population
    pop_dir = store.population_dir(results, settings)
    dense, sparse = store.run_dir(pop_dir, 0.0, 0), store.run_dir(pop_dir, 0.9, 0)
    assert [f.name for f in store.checkpoint_files(dense)] == [store.checkpoint_name(s) for s in (50, 100, 150)]
    assert store.checkpoint_files(sparse) == []
    # asking for more checkpoints than a run keeps makes it unfinished (trained again), nothing else does
    assert run_finished(settings, 0.0, 0, pop_dir)
    assert not run_finished(settings.replace(training={"checkpoints": 5}), 0.0, 0, pop_dir)
    assert run_finished(settings.replace(training={"checkpoints": 5}), 0.9, 0, pop_dir)
    # a run trained from another seed than the population gives it is not the population's: trained again
    assert not run_finished(settings.replace(population={"seed": 1}), 0.9, 0, pop_dir)
    # the last checkpoint is the finished model
    last = torch.load(store.checkpoint_files(dense)[-1], weights_only=True)
    final = torch.load(store.model_file(dense), weights_only=True)
    assert all(torch.equal(last[name], final[name]) for name in final)


def test_class_standardised_is_a_z_score_within_each_class():
    scores = np.array([1.0, 2.0, 3.0, 10.0, 10.0, 5.0, 7.0])
    labels = np.array([0, 0, 0, 1, 1, 2, 2])
    out = class_standardised(scores, labels)
    assert out[:3] == pytest.approx((scores[:3] - 2) / np.std(scores[:3]))
    assert out[3:5].tolist() == [0.0, 0.0]  # no spread
    assert out[5:].tolist() == pytest.approx([-1.0, 1.0])


def test_vog_is_zero_for_identical_checkpoints_and_grows_with_their_difference(smoke_settings):
    data = load_dataset(smoke_settings.data)
    torch.manual_seed(0)
    model = build_model(smoke_settings.model, data.image_shape, data.num_classes).eval()
    assert np.allclose(model_vog([model, model], data, 400, CPU), 0)
    other = build_model(smoke_settings.model, data.image_shape, data.num_classes).eval()
    vog = model_vog([model, other], data, 400, CPU)
    assert vog.shape == (len(data.test_labels),) and (vog > 0).all()
    # by hand for one image: per-pixel std over the two gradient maps, averaged over pixels
    x, y = next(data.test_batches(1, CPU))
    grads = []
    for m in (model, other):
        x_grad = x.clone().requires_grad_(True)
        m(x_grad)[0, y[0]].backward()
        grads.append(x_grad.grad[0])
    assert vog[0] == pytest.approx(float(torch.stack(grads).std(dim=0, unbiased=False).mean()), rel=1e-5)


def test_vog_of_stored_runs(smoke_population):
    results, settings = smoke_population
    pop_dir = store.population_dir(results, settings)
    data = load_dataset(settings.data)
    raw, standardised = vog_scores(settings, [store.run_dir(pop_dir, 0.0, 8)], data, CPU, progress=False)
    assert raw.shape == standardised.shape == (len(data.test_labels),) and (raw > 0).all()
    with pytest.raises(MissingResultsError, match="training.checkpoints"):
        checkpoint_models(settings, store.run_dir(pop_dir, 0.9, 0), data, CPU)
