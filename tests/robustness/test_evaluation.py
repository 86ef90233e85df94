from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import DataError, MissingResultsError, SettingsError
from pruning_impact.foundations.options import RobustnessOptions
from pruning_impact.robustness.attacks import fgsm, pgd
from pruning_impact.robustness.evaluation import (
    _evaluate_run,
    evaluate_population,
    evaluated_runs,
    options_key,
    read_tables,
    tables_folder,
)
from pruning_impact.robustness.shifted_sets import (
    CIFAR10_1_DIR,
    CIFAR10_C_DIR,
    IMAGENET_A_DIR,
    IMAGENET_C_DIR,
    corrupted_sets,
    imagenet_c_folder,
    load_cifar10_1,
    load_cifar10_c,
    load_imagenet_a,
    load_imagenet_c,
    published_sets_dir,
    restricted_top1,
    subsample_indices,
)
from pruning_impact.robustness.tables import table5
from pruning_impact.training import datasets
from pruning_impact.training.datasets import load_dataset
from pruning_impact.training.images import images_to_input, pixel_bounds
from pruning_impact.training.population import load_model

SMALL = RobustnessOptions(
    corruptions=("gaussian_noise", "contrast"),
    severities=(1, 5),
    subsample=120,
    adversarial_subsample=60,
    epsilons=(0.1,),
    pgd_steps=3,
    models_per_level=2,
)


def test_attacks_lower_a_trained_models_accuracy(smoke_population):
    results, settings = smoke_population
    data = load_dataset(settings.data)
    run = store.run_dir(store.population_dir(results, settings), 0.0, 0)
    model = load_model(settings, run, data, torch.device("cpu"))
    x = images_to_input(data.name, data.test_images(np.arange(200)))
    y = torch.from_numpy(data.test_labels[:200])
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).float().mean()
        after_fgsm = (model(fgsm(model, x, y, 0.1, data.name)).argmax(1) == y).float().mean()
        adv = pgd(model, x, y, 0.1, data.name, 5, torch.Generator().manual_seed(0))
        after_pgd = (model(adv).argmax(1) == y).float().mean()
    assert after_fgsm < clean - 0.1 and after_pgd <= after_fgsm + 0.02
    low, high, std = pixel_bounds(data.name)  # normalized values of pixels 0 and 1
    assert (adv >= low - 1e-5).all() and (adv <= high + 1e-5).all()  # stays within valid pixels
    assert ((adv - x).abs() <= 0.1 / std + 1e-5).all()  # epsilon in pixel units over the synthetic std
    assert (adv - x).abs().max() > 0.05 / std.max()  # and it does move the inputs


def test_attacks_are_computed_in_float32_inside_a_bfloat16_region():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    seen = []
    model.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    x, y = torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fgsm(model, x, y, 0.03, "fashion-mnist")
        pgd(model, x, y, 0.03, "fashion-mnist", 2, torch.Generator().manual_seed(0))
        model(x)
    assert seen[:-1] == [torch.float32] * 3 and seen[-1] == torch.bfloat16


def test_smoke_population_robustness_end_to_end(smoke_population):
    results, settings = smoke_population
    tables = evaluate_population(settings, results, SMALL, progress=False)
    corruption = tables["corruption_accuracy"]
    # models (2 of the reference and 2 of its partners, 2 per sparse level) x corruptions x severities
    assert len(corruption) == (4 + 2 + 2) * 2 * 2
    assert corruption["relative_top1"].between(0, 2).all()
    mean = corruption.groupby(["corruption", "severity"])["top1"].mean()
    assert mean[("gaussian_noise", 5)] < mean[("gaussian_noise", 1)]
    adversarial = tables["adversarial_accuracy"]
    assert set(adversarial["attack"]) == {"fgsm", "pgd"}
    assert (adversarial["top1"] <= adversarial["clean_top1"] + 0.05).all()
    flips = tables["example_flips"]
    assert len(flips) == 120 and flips["dense_flip_rate"].between(0, 1).all()
    summary = table5(corruption)
    assert set(summary.columns) >= {"corruption", "sparsity", "top1", "relative_top1"}
    # per-example predictions are kept beside each run, and a second call reuses them and the tables
    run = store.run_dir(store.population_dir(results, settings), 0.5, 1)
    folder = store.robustness_dir(run, options_key(SMALL))
    stamp = (folder / folders.DONE_FILE).stat().st_mtime_ns
    tables_done = tables_folder(settings, results, SMALL) / folders.DONE_FILE
    tables_stamp = tables_done.stat().st_mtime_ns
    again = evaluate_population(settings, results, SMALL, progress=False)
    assert (folder / folders.DONE_FILE).stat().st_mtime_ns == stamp and tables_done.stat().st_mtime_ns == tables_stamp
    # a task started again after its worker died finds the predictions written and keeps them
    assert _evaluate_run((settings, str(Path(results).resolve()), SMALL, (0.5, 1))) == (0.5, 1)
    assert (folder / folders.DONE_FILE).stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again["corruption_accuracy"], corruption)
    assert folders.load_npy(folder / store.corrupted_top5_file("gaussian_noise", 5)).shape == (120, 5)
    pd.testing.assert_frame_equal(read_tables(settings, results, SMALL)["adversarial_accuracy"], adversarial)


def test_reading_tables_that_are_not_made_names_the_command(smoke_population):
    results, settings = smoke_population
    options = RobustnessOptions(corruptions=("fog",), severities=(1,), subsample=50, models_per_level=1)
    with pytest.raises(
        MissingResultsError,
        match="pruning-impact robustness --profile smoke .*--corruptions fog "
        "--severities 1 --subsample 50 --models-per-level 1",
    ):
        read_tables(settings, results, options)


def test_the_dense_models_evaluated_are_the_floor_pool(smoke_settings):
    # 3 sparse models per level, 5 dense: fewer than 2K, so all 5 dense models are the reference and the pool
    settings = smoke_settings.replace(population={"population_size": 3, "dense_population_size": 5})
    assert settings.population.reference_size == 5 and settings.population.floor_pool_size == 5
    runs = evaluated_runs(settings, RobustnessOptions())
    assert [i for s, i in runs if s == 0] == [0, 1, 2, 3, 4]
    assert [i for s, i in runs if s == 0.9] == [0, 1, 2]
    # with 3K dense models: the first K are the reference, the first 2K are evaluated (for the A/A
    # calibration of the robustness rule), the last K are held out
    assert smoke_settings.population.held_out_size == 3
    assert [i for s, i in evaluated_runs(smoke_settings, RobustnessOptions()) if s == 0] == [0, 1, 2, 3, 4, 5]
    assert len(evaluated_runs(settings, RobustnessOptions(models_per_level=2))) == 2 * 3
    # a limit per level takes as many of the reference's partners as of the reference (they score PIE flips)
    dense = [i for s, i in evaluated_runs(smoke_settings, RobustnessOptions(models_per_level=2)) if s == 0]
    assert dense == [0, 1, 3, 4]


def test_subsample_is_fixed_and_sorted():
    a, b = subsample_indices(1000, 100, 3), subsample_indices(1000, 100, 3)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 100 and (np.diff(a) > 0).all()
    assert len(subsample_indices(50, 100, 0)) == 50


def test_bad_options_are_refused():
    with pytest.raises(SettingsError, match="unknown corruption"):
        RobustnessOptions(corruptions=("rain",))
    with pytest.raises(SettingsError, match="severities"):
        RobustnessOptions(severities=(0,))
    with pytest.raises(SettingsError, match="epsilons"):
        RobustnessOptions(epsilons=(8,))


def test_cifar10_c_layout(tmp_path, write_cifar10_c):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5 * 4, 32, 32, 3), dtype=np.uint8)
    write_cifar10_c(tmp_path, "fog", images, np.tile(np.arange(4), 5).astype(np.uint8))
    x, y = load_cifar10_c(tmp_path, "fog", 3)
    np.testing.assert_array_equal(x, images[8:12])
    assert y.tolist() == [0, 1, 2, 3]
    with pytest.raises(DataError, match="CIFAR-10-C not found"):
        load_cifar10_c(tmp_path, "contrast", 1)
    with pytest.raises(ValueError, match="severity"):
        load_cifar10_c(tmp_path, "fog", 6)


def test_cifar10_1_layout(tmp_path, write_cifar10_1):
    write_cifar10_1(tmp_path, np.zeros((3, 32, 32, 3), np.uint8), np.array([1, 2, 3]))
    x, y = load_cifar10_1(tmp_path)
    assert x.shape == (3, 32, 32, 3) and y.tolist() == [1, 2, 3]


def write_images(folder, wnids, n, size):
    from PIL import Image

    rng = np.random.default_rng(0)
    for wnid in wnids:
        (folder / wnid).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / wnid / f"{i}.JPEG")


def test_imagenet_c_and_a_layouts(tmp_path):
    classes = ("n01", "n02", "n03", "n04")
    imagenet_c, imagenet_a = tmp_path / IMAGENET_C_DIR, tmp_path / IMAGENET_A_DIR
    write_images(imagenet_c_folder(imagenet_c, "fog", 2), ("n02", "n04"), 2, 224)
    x, y = load_imagenet_c(imagenet_c, "fog", 2, classes)
    assert x.shape == (4, 224, 224, 3) and y.tolist() == [1, 1, 3, 3]
    with pytest.raises(DataError, match="ImageNet-C not found"):
        load_imagenet_c(imagenet_c, "fog", 3, classes)
    write_images(imagenet_a, ("n01", "n03"), 1, 100)
    x, y, present = load_imagenet_a(imagenet_a, classes)
    assert x.shape == (2, 224, 224, 3) and y.tolist() == [0, 2] and present.tolist() == [0, 2]
    logits = np.array([[2.0, 5.0, 1.0, 0.0], [0.0, 0.0, 0.5, 3.0]])
    assert (restricted_top1(logits, None) == y).mean() == 0.0  # over all classes: both wrong
    assert (restricted_top1(logits, present) == y).mean() == 1.0  # over the 200 (here 2) present classes: both right


def test_published_cifar10_c_is_used_where_present(tmp_path, make_cifar_folder, write_cifar10_c):
    import pickle

    from pruning_impact.foundations.settings import DataSettings
    from pruning_impact.robustness.shifted_sets import corruption_sources

    make_cifar_folder(tmp_path)
    load_dataset.cache_clear()
    data_settings = DataSettings(dataset="cifar10", data_dir=str(tmp_path))
    data = load_dataset(data_settings)
    test = pickle.loads((tmp_path / datasets.CIFAR10_FOLDER / datasets.CIFAR10_TEST_BATCH).read_bytes())
    published = published_sets_dir(data_settings)  # where the evaluation looks for CIFAR-10-C
    published.mkdir()
    fog = np.random.default_rng(1).integers(0, 256, (5 * 8, 32, 32, 3), dtype=np.uint8)
    write_cifar10_c(published, "fog", fog, np.tile(np.asarray(test[b"labels"]), 5).astype(np.uint8))
    options = RobustnessOptions(corruptions=("fog", "contrast"), severities=(2,), subsample=5)
    indices, sets = corrupted_sets(data, data_settings, options, tmp_path / "results", False)
    np.testing.assert_array_equal(sets[("fog", 2)], fog[8:16][indices])
    assert corruption_sources(data_settings, options) == {"fog": "CIFAR-10-C", "contrast": "generated"}
    write_cifar10_c(published, "fog", fog, np.zeros(40, np.uint8) + 11)  # out of order: refused
    with pytest.raises(DataError, match="test set's order"):
        corrupted_sets(data, data_settings, options, tmp_path / "results", False)
    load_dataset.cache_clear()


@pytest.mark.slow  # trains populations or calibrates: left out of make test-fast
def test_cifar10_population_on_cifar10_c_and_cifar10_1(
    tmp_path, smoke_settings, make_cifar_folder, write_cifar10_c, write_cifar10_1
):
    """A tiny CIFAR-10 population (on files in the real layouts) evaluated on CIFAR-10-C and CIFAR-10.1."""
    from pruning_impact.training.population import train_population

    make_cifar_folder(tmp_path)
    load_dataset.cache_clear()
    settings = smoke_settings.replace(
        data={"dataset": "cifar10", "data_dir": str(tmp_path)},
        training={"steps": 12},
        pruning={"begin_step": 2, "end_step": 8, "frequency": 2},
        population={"sparsities": (0.0, 0.9), "population_size": 1, "dense_population_size": 1},
    )
    train_population(settings, tmp_path / "results", progress=False)
    rng = np.random.default_rng(2)
    labels = load_dataset(settings.data).test_labels
    fog = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    write_cifar10_c(tmp_path / CIFAR10_C_DIR, "fog", fog, np.tile(labels, 5).astype(np.uint8))
    write_cifar10_1(tmp_path / CIFAR10_1_DIR, rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), np.arange(6))
    options = RobustnessOptions(
        corruptions=("fog", "contrast"),
        severities=(1,),
        subsample=None,
        adversarial_subsample=4,
        epsilons=(0.1,),
        pgd_steps=1,
    )
    tables = evaluate_population(settings, tmp_path / "results", options, progress=False)
    sources = tables["corruption_accuracy"].groupby("corruption")["source"].first().to_dict()
    assert sources == {"fog": "CIFAR-10-C", "contrast": "generated"}
    natural = tables["natural_accuracy"]
    assert natural["set"].unique().tolist() == ["CIFAR-10.1"] and len(natural) == 2
    assert natural["top1"].between(0, 1).all() and natural["top1_restricted"].isna().all()
    again = evaluate_population(settings, tmp_path / "results", options, progress=False)  # all finished: read back
    pd.testing.assert_frame_equal(again["natural_accuracy"], natural)
    load_dataset.cache_clear()


def test_predictions_written_before_sources_were_recorded_are_kept(tmp_path):
    from pruning_impact.robustness.evaluation import _predictions_finished

    sources = {"sources": {"fog": "generated"}}
    folders.write_finished(tmp_path / "old", {"clean.npy": b"x"})  # a folder from before this rule
    folders.write_finished(tmp_path / "new", {"clean.npy": b"x"}, inputs={"sources": {"fog": "CIFAR-10-C"}})
    assert _predictions_finished(tmp_path / "old", sources)
    assert not _predictions_finished(tmp_path / "new", sources)  # made from other images: evaluated again
    assert not _predictions_finished(tmp_path / "missing", sources)
