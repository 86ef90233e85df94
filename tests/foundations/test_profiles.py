import pytest

from pruning_impact.foundations.profiles import PAPER_SPARSITIES, get_profile
from pruning_impact.training.train import lr_at

IMAGENET_TRAIN_IMAGES = 1_281_167

# the run hashes of the small profiles: new options at their defaults must leave them (and so the names
# of finished populations) unchanged
SMALL_PROFILE_HASHES = {"fashion-mnist": "0ee7d19f7b", "smoke": "7309321f69"}


@pytest.mark.parametrize("name", ["cifar10-wrn", "imagenet-resnet50"])
def test_paper_profiles_have_k_30_and_3k_dense_models(name):
    population = get_profile(name).population
    assert population.sparsities == PAPER_SPARSITIES
    assert population.population_size == 30
    assert population.size_at(0.0) == 90 and population.size_at(0.9) == 30
    assert population.reference_size == 30  # K dense models are the reference, 2K more remain


def test_imagenet_profile_follows_the_authors_code():
    settings = get_profile("imagenet-resnet50")
    train = settings.training
    assert (train.steps, train.batch_size) == (32_000, 4_096)
    assert train.lr == pytest.approx(1.6)  # 0.1 per 256 images
    assert (train.momentum, train.weight_decay, train.label_smoothing) == (0.9, 1e-4, 0.1)
    assert train.lr_schedule == "step" and train.lr_gamma == 0.1
    assert not train.bn_weight_decay and settings.model.zero_init_residual
    assert settings.model.arch == "resnet50"
    pruning = settings.pruning
    assert (pruning.begin_step, pruning.end_step, pruning.frequency) == (1_000, 9_000, 500)

    def epoch(step):
        return step * train.batch_size / IMAGENET_TRAIN_IMAGES

    assert epoch(train.steps) == pytest.approx(102.3, abs=0.05)
    # warm-up over the first 5 epochs, then x0.1 at the first step of epochs 30, 60 and 80
    assert epoch(train.warmup_steps) == pytest.approx(5, abs=0.01)
    assert lr_at(train.warmup_steps, train) == pytest.approx(1.6)
    rates = [lr_at(step, train) for step in range(train.steps)]
    decays = [step for step in range(1, train.steps) if rates[step] < rates[step - 1] * 0.5]
    assert [epoch(step - 1) < e <= epoch(step) for step, e in zip(decays, (30, 60, 80))] == [True] * 3
    assert len(decays) == 3
    assert rates[-1] == pytest.approx(1.6e-3)


def test_cifar_profile_keeps_the_papers_steps_and_pruning():
    settings = get_profile("cifar10-wrn")
    assert (settings.training.steps, settings.training.batch_size) == (80_000, 128)
    assert (settings.pruning.begin_step, settings.pruning.end_step, settings.pruning.frequency) == (
        1_000,
        20_000,
        2_000,
    )
    assert settings.training.bn_weight_decay and not settings.model.zero_init_residual


@pytest.mark.parametrize("name", sorted(SMALL_PROFILE_HASHES))
def test_new_options_at_their_defaults_keep_the_small_profiles_hashes(name):
    settings = get_profile(name)
    assert settings.training.bn_weight_decay and not settings.model.zero_init_residual
    assert "training.bn_weight_decay" not in settings.hashed_fields()
    assert "model.zero_init_residual" not in settings.hashed_fields()
    assert settings.hash == SMALL_PROFILE_HASHES[name]
    # changing an option does change the hash
    assert settings.replace(training={"bn_weight_decay": False}).hash != settings.hash


def test_the_previous_default_population_keeps_its_folder():
    """The K = 10 max-pooling population that earlier editions trained is still found under its name."""
    previous = get_profile("fashion-mnist").replace(
        model={"downsample": "maxpool", "head": "avgpool"},
        training={"steps": 702},
        pruning={"begin_step": 70, "end_step": 421},
    )
    assert previous.hash == "44136fa355"


def test_paper_setups_list_every_sourced_choice_with_the_profiles_values():
    from pruning_impact.foundations.profiles import PAPER_SETUP_SOURCES, paper_setups

    rows = {row["setting"]: row for row in paper_setups()}
    assert set(rows) == set(PAPER_SETUP_SOURCES)
    assert rows["training.batch_size"]["imagenet-resnet50"] == 4096 and rows["training.lr"]["imagenet-resnet50"] == 1.6
    assert rows["population.dense_population_size"]["cifar10-wrn"] == 90
    assert all(row["source (ImageNet)"] and row["source (CIFAR-10)"] for row in rows.values())
