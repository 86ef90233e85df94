import pytest

from pruning_impact.foundations.described import field_help
from pruning_impact.foundations.errors import SettingsError
from pruning_impact.foundations.options import AnalysisOptions, RobustnessOptions
from pruning_impact.foundations.profiles import PROFILES, command_line, get_profile, resolve_settings
from pruning_impact.foundations.settings import (
    DataSettings,
    ModelSettings,
    PopulationSettings,
    PruningSettings,
    Settings,
    TrainSettings,
)


@pytest.mark.parametrize(
    "section, changes, field_name",
    [
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
    ],
)
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
    assert (imagenet.training.steps, imagenet.training.batch_size) == (32_000, 4096)  # the authors' code
    assert (imagenet.pruning.begin_step, imagenet.pruning.end_step, imagenet.pruning.frequency) == (1_000, 9_000, 500)
    for s in (cifar, imagenet):
        assert s.population.population_size == 30
        assert s.population.sparsities == (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
    fashion = get_profile("fashion-mnist")
    assert fashion.population.population_size == 20 and fashion.population.sparsities == (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)
    assert fashion.population.size_at(0.0) == 60
    k30 = get_profile("fashion-mnist-k30")
    assert (k30.population.population_size, k30.population.size_at(0.0)) == (30, 90)
    same_but_k = k30.replace(population={"population_size": 20, "dense_population_size": 60})
    assert same_but_k.hash == fashion.hash and same_but_k.to_dict() | {"profile": "fashion-mnist"} == fashion.to_dict()


def test_hash_ignores_defaults_placement_and_unhashed_fields():
    base = get_profile("smoke")
    # fields that do not change results leave the hash alone
    same = base.replace(
        data={"data_dir": "/elsewhere", "num_workers": 0},
        training={"device": "cpu"},
        population={"population_size": 7, "sparsities": (0.0, 0.3)},
    )
    assert same.hash == base.hash
    # fields that change results change it
    assert base.replace(training={"lr": 0.05}).hash != base.hash
    assert base.replace(population={"seed": 1}).hash != base.hash
    assert base.replace(pruning={"update": "straight_through"}).hash != base.hash
    # a field still at its default is not in the hash: setting it explicitly changes nothing
    explicit = base.replace(pruning={"power": PruningSettings().power})
    assert "pruning.power" not in explicit.hashed_fields() and explicit.hash == base.hash


def test_every_field_is_described():
    for cls in (
        DataSettings,
        ModelSettings,
        TrainSettings,
        PruningSettings,
        PopulationSettings,
        AnalysisOptions,
        RobustnessOptions,
    ):
        assert all(len(text) > 10 for text in field_help(cls).values()), cls


def test_dense_population_size():
    pop = PopulationSettings(population_size=4, dense_population_size=8)
    assert pop.size_at(0.0) == 8 and pop.size_at(0.5) == 4
    assert PopulationSettings(population_size=4).size_at(0.0) == 4


def test_user_values_are_read_once_for_every_entry_point():
    pop = PopulationSettings(population_size="4", sparsities="0 0.5 0.9", dense_population_size="none")
    assert pop.population_size == 4 and pop.sparsities == (0.0, 0.5, 0.9) and pop.dense_population_size is None
    assert PopulationSettings(sparsities="[0, 0.5]").sparsities == (0.0, 0.5)
    assert PopulationSettings(sparsities=[0, 0.5]).sparsities == (0.0, 0.5)
    assert AnalysisOptions(correction="none").correction is None
    assert AnalysisOptions(correction=None).correction_label == "none"
    assert RobustnessOptions(subsample="none", severities="1, 3").subsample is None
    assert RobustnessOptions(severities=3).severities == (3,)
    with pytest.raises(SettingsError, match="population.population_size: 'four' is not a whole number"):
        PopulationSettings(population_size="four")
    with pytest.raises(SettingsError, match="population.population_size: 2.5 is not a whole number"):
        PopulationSettings(population_size=2.5)
    with pytest.raises(SettingsError, match="population.seed: 'none' is not a whole number"):
        PopulationSettings(seed="none")
    with pytest.raises(SettingsError, match="alpha"):
        AnalysisOptions(alpha="high")


def test_resolve_settings_keeps_the_dense_ratio_and_command_line_rebuilds_it():
    settings = resolve_settings("fashion-mnist", population_size="4", sparsities="0 0.9", data_dir="/d")
    assert settings.population.size_at(0.0) == 12 and settings.population.sparsities == (0.0, 0.9)
    command = command_line("robustness", settings, "res", RobustnessOptions(subsample=None, epsilons=(0.05,)))
    assert command == (
        "pruning-impact robustness --profile fashion-mnist --results res --population-size 4 "
        "--dense-population-size 12 --sparsities 0 0.9 --data-dir /d --subsample none --epsilons 0.05"
    )
    assert command_line("train", get_profile("smoke"), "r") == "pruning-impact train --profile smoke --results r"


def test_list_values_may_come_with_commas_but_not_twice():
    assert RobustnessOptions(corruptions=["fog,contrast"]).corruptions == ("fog", "contrast")
    assert PopulationSettings(sparsities=["0,0.5", "0.9"]).sparsities == (0.0, 0.5, 0.9)
    with pytest.raises(SettingsError, match="severities: 1 1 repeats a value"):
        RobustnessOptions(severities=(1, 1))
