import pytest

from pruning_impact.analysis.run import analysis_key
from pruning_impact.book import open_chapter
from pruning_impact.foundations import store
from pruning_impact.foundations.errors import ParameterError
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.foundations.profiles import get_profile


def test_chapters_never_train_but_make_missing_tables(tmp_path, smoke_population):
    with pytest.raises(ParameterError, match="results_dir = .* Train it with: pruning-impact train --profile smoke"):
        open_chapter({"profile": "smoke", "results_dir": str(tmp_path)})
    assert not store.population_dir(tmp_path, get_profile("smoke")).exists()
    results, settings = smoke_population
    key = analysis_key(settings, AnalysisOptions(alpha=0.01))
    folder = store.analysis_dir(store.population_dir(results, settings), key)
    assert not folder.exists()
    chapter = open_chapter({"profile": "smoke", "results_dir": str(results), "alpha": "0.01"})
    assert chapter.analysis_options.alpha == 0.01 and folder.is_dir()  # computed from the stored models
