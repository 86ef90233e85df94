import numpy as np
import pytest
import torch
from torch import nn

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import SettingsError
from pruning_impact.foundations.levels import level_name
from pruning_impact.foundations.profiles import get_profile
from pruning_impact.foundations.settings import Settings
from pruning_impact.training.compression import quantize, scope_of
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.inference import predict_logits
from pruning_impact.training.population import load_model, quantized_source, train_population
from pruning_impact.training.pruning import PolynomialDecay, Pruner, kept_count, sparsity_problems

CPU = torch.device("cpu")


def small_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.Flatten(), nn.Linear(16, 7), nn.Linear(7, 3)
    )


def prune_to(method, sparsity=0.9, seed=0):
    model = small_model()
    schedule = PolynomialDecay(0.0, sparsity, 0, 20, 5)
    pruner = Pruner(model, schedule, method, seed=seed)
    history = []
    for step in range(21):
        pruner.step(step)
        history.append({name: mask.clone() for name, mask in pruner.masks().items()})
    scores = {name: s.clone() for name, s in pruner.scores().items()}
    pruner.finalize()
    return model, history, scores


@pytest.mark.parametrize("method", ["magnitude", "random"])
def test_layer_methods_prune_every_layer_exactly(method):
    model, _, _ = prune_to(method)
    for name, module in [("0", model[0]), ("2", model[2]), ("4", model[4])]:
        assert int((module.weight != 0).sum()) == kept_count(module.weight.numel(), 0.9), name
    assert int((model[5].weight != 0).sum()) == model[5].weight.numel()  # the final layer is not pruned
    assert not sparsity_problems(model, 0.9, scope_of(method))


def test_global_method_keeps_the_exact_total_and_ranks_across_layers():
    model, history, scores = prune_to("magnitude-global")
    layers = [model[0].weight, model[2].weight, model[4].weight]
    total = sum(w.numel() for w in layers)
    assert sum(int((w != 0).sum()) for w in layers) == kept_count(total, 0.9)
    assert not sparsity_problems(model, 0.9, "global")
    # one threshold across layers: every kept weight at least as large as every dropped one, in any layer
    masks = history[-1]
    kept = torch.cat([scores[name].abs()[mask] for name, mask in masks.items()])
    dropped = torch.cat([scores[name].abs()[~mask] for name, mask in masks.items()])
    assert kept.min() >= dropped.max()
    assert len({round(float((w == 0).float().mean()), 3) for w in layers}) > 1  # so the layers' sparsities differ


def test_random_masks_are_nested_and_follow_the_fixed_scores_not_the_weights():
    model, history, scores = prune_to("random", seed=3)
    for earlier, later in zip(history, history[1:]):
        for name in earlier:
            assert not (later[name] & ~earlier[name]).any()  # a weight pruned at random stays pruned
    final = history[-1]
    for name, mask in final.items():
        assert scores[name][mask].min() >= scores[name][~mask].max()
    magnitude, _, _ = prune_to("magnitude")
    assert not torch.equal(model[2].weight != 0, magnitude[2].weight != 0)
    again, _, _ = prune_to("random", seed=3)
    assert torch.equal(again[2].weight != 0, model[2].weight != 0)  # the seed fixes the masks


def test_random_scores_do_not_follow_the_initial_weights_drawn_from_the_same_seed():
    # train_model seeds torch with the model's seed before building it; the scores must not replay that stream
    for seed in (0, 7):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.Flatten(), nn.Linear(32, 16), nn.Linear(16, 3))
        initial = model[0].weight.detach().clone().flatten()
        pruner = Pruner(model, PolynomialDecay(0.0, 0.9, 0, 1, 1), "random", seed=seed)
        scores = pruner.scores()["0"].flatten()
        assert abs(np.corrcoef(initial.numpy(), scores.numpy())[0, 1]) < 0.2
        pruner.step(1)
        kept = initial[pruner.masks()["0"].flatten()]
        assert (kept < 0).any() and (kept > 0).any()  # not the largest initial weights


def test_unknown_pruning_method_refused():
    with pytest.raises(ValueError, match="quantize-int8"):
        Pruner(small_model(), PolynomialDecay(0, 0.5, 0, 10, 1), "quantize-int8")


def test_level_names():
    assert [level_name(x) for x in (0.0, 0.9, 0.975, 16.0, 8.0)] == ["0%", "90%", "97.5%", "fp16", "int8"]
    assert store.sparsity_dir(store.Path("p"), 8.0).name == "bits-08"
    assert store.sparsity_dir(store.Path("p"), 0.9).name == "sparsity-0.90"


def test_default_method_keeps_every_existing_folder_name():
    # the folders of populations trained before methods existed: the default method adds nothing to the hash
    assert get_profile("fashion-mnist").name == "fashion-mnist-0ee7d19f7b"
    assert get_profile("classroom").name == "classroom-29fb3b9c5a"
    assert get_profile("smoke").name == "smoke-7309321f69"
    names = {get_profile("smoke").replace(population={"method": m}).name for m in ("random", "quantize-int8")}
    assert len(names) == 2 and "smoke-7309321f69" not in names


def test_settings_saved_with_the_old_scope_field_load_as_the_method_and_keep_their_folder():
    smoke = get_profile("smoke")
    saved = smoke.to_dict()
    saved["pruning"]["scope"] = "global"
    loaded = Settings.from_dict(saved)
    assert loaded.population.method == "magnitude-global"
    # the folder it was trained in: named by the hash of pruning.scope = global, as before methods existed
    assert loaded.hashed_fields() == {**smoke.hashed_fields(), "pruning.scope": "global"}
    saved["pruning"]["scope"] = "layer"
    assert Settings.from_dict(saved).population.method == "magnitude"
    saved["pruning"]["scope"] = "filter"
    with pytest.raises(SettingsError, match="pruning.scope"):
        Settings.from_dict(saved)


def test_unknown_method_names_the_setting():
    with pytest.raises(SettingsError, match="population.method"):
        get_profile("smoke").replace(population={"method": "prune-everything"})


@pytest.fixture(scope="module")
def dense_model(smoke_copy, smoke_settings):
    results, settings = smoke_copy(), smoke_settings
    data = load_dataset(settings.data)
    run = store.run_dir(store.population_dir(results, settings), 0.0, 0)
    return load_model(settings, run, data, CPU), data


@pytest.mark.parametrize("bits", [16, 8])
def test_quantized_models_agree_with_the_dense_model_on_most_examples(dense_model, bits):
    model, data = dense_model
    calibration = [x for (x, _), _ in zip(data.train_batches(64, torch.Generator().manual_seed(0), CPU), range(2))]
    converted = quantize(model, bits, calibration)
    inputs = torch.cat([x for x, _ in data.test_batches(400, CPU)])
    dense = predict_logits(model, inputs, CPU)
    quantized = predict_logits(converted, inputs, CPU, precision=torch.bfloat16)  # the caller's autocast is ignored
    assert quantized.dtype == np.float32
    agreement = (dense.argmax(1) == quantized.argmax(1)).mean()
    assert agreement >= 0.95
    assert bits == 8 or agreement >= 0.995
    assert not np.array_equal(dense, quantized)  # it did change the arithmetic


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
@pytest.mark.parametrize("method", ["magnitude-global", "random", "quantize-fp16", "quantize-int8"])
def test_every_method_makes_a_valid_smoke_population(smoke_population, method):
    results, base = smoke_population
    settings = base.replace(
        population={"method": method, "sparsities": (0.0, 0.9), "population_size": 2, "dense_population_size": 4}
    )
    report = train_population(settings, results, progress=False)
    pop_dir = store.population_dir(results, settings)
    base_dir = store.population_dir(results, base)
    for i in range(4):  # the dense models are the paper's population's, copied, not trained again
        assert folders.read_manifest(store.run_dir(pop_dir, 0.0, i)) == folders.read_manifest(
            store.run_dir(base_dir, 0.0, i)
        )
    data = load_dataset(settings.data)
    level = settings.population.compressed_levels[0]
    # the two models of the compressed level are made (or were, by another test's comparison)
    assert report.trained + report.skipped == 6 and store.finished_indices(pop_dir, level)[:2] == [0, 1]
    for i in range(2):
        run = store.run_dir(pop_dir, level, i)
        metrics = store.load_run_metrics(run)
        model = load_model(settings, run, data, CPU)  # checked against its sparsity (pruning methods)
        if settings.population.quantization_bits:
            assert (
                level == settings.population.quantization_bits
                and metrics["source_index"] == quantized_source(settings, i) == 2 + i
            )
            assert metrics["agreement_with_source"] >= 0.95
            logits = predict_logits(model, (x for x, _ in data.test_batches(400, CPU)), CPU)
            assert np.array_equal(logits.argmax(1), store.load_run_array(run))  # made again, the same model
        else:
            assert set(metrics["layer_sparsity"].values()) != {0.0}
            assert not sparsity_problems(model, 0.9, scope_of(method))
    assert train_population(settings, results, progress=False).trained == 0  # finished work is kept


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_analysis_and_robustness_run_on_a_quantized_population(smoke_population):
    from pruning_impact.analysis.run import run_analysis
    from pruning_impact.foundations.options import RobustnessOptions
    from pruning_impact.robustness.evaluation import evaluate_population

    results, base = smoke_population
    settings = base.replace(population={"method": "quantize-int8", "population_size": 2, "dense_population_size": 4})
    train_population(settings, results, progress=False)
    _, tables = run_analysis(results, settings)
    assert tables["pie_counts"]["sparsity"].tolist() == [8.0] and tables["class_summary"]["k_sparse"].eq(2).all()
    options = RobustnessOptions(
        corruptions=("contrast",), severities=(5,), subsample=60, adversarial_subsample=40, epsilons=(0.1,), pgd_steps=2
    )
    robustness = evaluate_population(settings, results, options, progress=False)
    adversarial = robustness["adversarial_accuracy"]
    quantized = adversarial[adversarial["sparsity"] == 8.0]
    assert len(quantized) == 2 * 2  # two models, two attacks; their gradients come from the float models
    clean = robustness["corruption_accuracy"]
    assert set(clean["sparsity"]) == {0.0, 8.0}
    # an attack on the float model transfers to its int8 copy: accuracy falls well below the clean one
    assert quantized["top1"].max() < 0.5
