import pytest

from pruning_impact.population import train_population
from pruning_impact.profiles import get_profile


@pytest.fixture(scope="session")
def smoke_settings():
    return get_profile("smoke")


@pytest.fixture(scope="session")
def smoke_population(tmp_path_factory, smoke_settings):
    """A smoke population trained once per test session: (results_dir, settings)."""
    results = tmp_path_factory.mktemp("results")
    train_population(smoke_settings, results, progress=False)
    return results, smoke_settings
