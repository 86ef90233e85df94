import pytest

from pruning_impact.errors import SettingsError
from pruning_impact.profiles import PROFILES, get_profile
from pruning_impact.settings import (DataSettings, ModelSettings, PopulationSettings, PruningSettings, Settings,
                                     TrainSettings, field_help)


@pytest.mark.parametrize("section, changes, field_name", [
    ("population", {"sparsities": (0.0, 1.0)}, "population.sparsities"),
    ("population", {"sparsities": (-0.1,)}, "population.sparsities"),
    ("population", {"sparsities": (0.5, 0.5)}, "population.sparsities"),
    ("population", {"population_size": 0}, "population.population_size"),
    ("population", {"dense_population_size": 0}, "population.dense_population_size"),
    ("pruning", {"begin_step": 50, "end_step": 50}, "pruning.begin_step"),
    ("pruning", {"frequency": 0}, "pruning.frequency"),
    ("pruning", {"scope": "filter"}, "pruning.scope"),
    ("pruning", {"update": "sometimes"}, "pruning.update"),
    ("pruning", {"end_step": 10_000}, "pruning.end_step"),
    ("data", {"dataset": "mnist"}, "data.dataset"),
    ("data", {"train_subset": 0}, "data.train_subset"),
    ("model", {"arch": "vgg"}, "model.arch"),
    ("model", {"depth": 27}, "model.depth"),
    ("training", {"lr": 0}, "training.lr"),
    ("training", {"batch_size": 0}, "training.batch_size"),
    ("training", {"lr_schedule": "cosine"}, "training.lr_schedule"),
    ("training", {"device": "tpu"}, "training.device"),
    ("training", {"lr_milestones": (0.5, 1.5)}, "training.lr_milestones"),
])
def test_invalid_settings_are_refused_naming_the_field(section, changes, field_name):
    with pytest.raises(SettingsError, match=field_name.replace(".", r"\.")):
        get_profile("fashion-mnist").replace(**{section: changes})


def test_unknown_profile_and_unknown_field():
    with pytest.raises(SettingsError, match="unknown profile 'mnist'.*fashion-mnist"):
        get_profile("mnist")
    with pytest.raises(SettingsError, match="unknown setting training.lrate"):
        get_profile("smoke").replace(training={"lrate": 1})


@pytest.mark.parametrize("name", list(PROFILES))
def test_profiles_are_valid_and_round_trip(name):
    settings = get_profile(name)
    assert Settings.from_dict(settings.to_dict()) == settings
    assert settings.name.startswith(name + "-")


def test_paper_profiles_follow_the_paper():
    cifar, imagenet = get_profile("cifar10-wrn"), get_profile("imagenet-resnet50")
    assert (cifar.training.steps, cifar.training.batch_size) == (80_000, 128)
    assert (cifar.pruning.begin_step, cifar.pruning.end_step, cifar.pruning.frequency) == (1_000, 20_000, 2_000)
    assert (imagenet.training.steps, imagenet.training.batch_size) == (32_000, 1024)
    assert (imagenet.pruning.begin_step, imagenet.pruning.end_step, imagenet.pruning.frequency) == (1_000, 9_000, 500)
    for s in (cifar, imagenet):
        assert s.population.population_size == 30
        assert s.population.sparsities == (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
    fashion = get_profile("fashion-mnist")
    assert fashion.population.population_size == 10 and fashion.population.sparsities == (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)


def test_hash_ignores_defaults_placement_and_unhashed_fields():
    base = get_profile("smoke")
    # fields that do not change results leave the hash alone
    same = base.replace(data={"data_dir": "/elsewhere", "num_workers": 0}, training={"device": "cpu"},
                        population={"population_size": 7, "sparsities": (0.0, 0.3)})
    assert same.hash == base.hash
    # fields that change results change it
    assert base.replace(training={"lr": 0.05}).hash != base.hash
    assert base.replace(population={"seed": 1}).hash != base.hash
    assert base.replace(pruning={"update": "straight_through"}).hash != base.hash
    # a field still at its default is not in the hash: setting it explicitly changes nothing
    explicit = base.replace(pruning={"power": PruningSettings().power})
    assert "pruning.power" not in explicit.hashed_fields() and explicit.hash == base.hash


def test_every_field_is_described():
    for cls in (DataSettings, ModelSettings, TrainSettings, PruningSettings, PopulationSettings):
        assert all(len(text) > 10 for text in field_help(cls).values()), cls


def test_dense_population_size():
    pop = PopulationSettings(population_size=4, dense_population_size=8)
    assert pop.size_at(0.0) == 8 and pop.size_at(0.5) == 4
    assert PopulationSettings(population_size=4).size_at(0.0) == 4
