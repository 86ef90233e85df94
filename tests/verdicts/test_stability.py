import dataclasses

import numpy as np
import pandas as pd
import pytest

from pruning_impact.foundations import store
from pruning_impact.foundations.dense_split import DenseSplit
from pruning_impact.foundations.options import AnalysisOptions
from pruning_impact.verdicts import calibration, judge, stability
from pruning_impact.verdicts.calibration import Scenario
from pruning_impact.verdicts.claims import REPRODUCED

FAST = AnalysisOptions(repeats=20, permutations=50, random_samples=5)
FINE = dataclasses.replace(FAST, repeats=200, permutations=200)  # enough re-splits for a p-value to pass Holm
SMALL = {"k": 4, "k_dense": 12, "n": 400}
SMALL_FIT = dataclasses.replace(calibration.DEFAULT_FIT, **SMALL)
SPLIT = DenseSplit(SMALL["k_dense"], SMALL["k"])
NO_EFFECT = calibration.scenarios(SMALL_FIT)["no-effect"]
# every class moved far at every level and hundreds of PIEs: claim 1 holds beyond any resample's doubt
HUGE = Scenario(
    "huge",
    "huge class shifts",
    class_effects=dict.fromkeys((0.1, 0.3, 0.5, 0.7, 0.9), (-0.3, 0.3) * 5),
)


@pytest.fixture(scope="module")
def marked():
    """A tiny population whose every prediction of a model is that model's marker: its level's position
    times 100 plus its index, so each resampled row tells which model it came from."""
    population = calibration.simulate_population(SMALL_FIT, NO_EFFECT, 0)
    top1 = {
        s: np.broadcast_to(100 * level + np.arange(len(p))[:, None], p.shape).copy()
        for level, (s, p) in enumerate(population.top1.items())
    }
    return dataclasses.replace(
        population, top1=top1, top5={s: p[:, :, None] + np.zeros(5, int) for s, p in top1.items()}
    )


def test_resampling_a_population_subsamples_each_group_within_itself(marked):
    k = stability.subsample_size(SMALL["k"])
    assert k == 3  # round(0.8 * 4)
    for seed in range(5):
        drawn = stability.resample_population(marked, np.random.default_rng(seed))
        assert drawn.labels is marked.labels and drawn.class_names == marked.class_names
        assert drawn.reference_size == k and len(drawn.top1[0.0]) == 3 * k  # the split follows the sizes
        for level, s in enumerate(marked.top1):
            rows = drawn.top1[s][:, 0]
            assert len(set(rows)) == len(rows)  # without replacement: no model twice
            assert (drawn.top5[s][:, 0, 0] == rows).all()  # top-5 drawn as top-1
            assert (drawn.top1[s] == rows[:, None]).all()  # whole models, never mixed
            old = stability.dense_groups(marked.split) if s == 0 else [slice(0, len(marked.top1[s]))]
            new = stability.dense_groups(drawn.split) if s == 0 else [slice(0, len(rows))]
            for before, after in zip(old, new, strict=True):
                models = rows[after] - 100 * level
                assert len(models) == k and ((models >= before.start) & (models < before.stop)).all()


def test_dense_groups_follow_the_split():
    groups = stability.dense_groups(SPLIT)
    assert groups == [slice(0, 4), slice(4, 8), slice(8, 12)]
    assert [len(range(12)[g]) for g in stability.dense_groups(DenseSplit(6, 4))] == [6, 0, 0]  # no partners


def _marked_robustness():
    """Simulated robustness tables of the dense floor pool and the top level, each model's values and
    top-1 carrying its marker (1000 when sparse, plus the model), with accuracies of every model."""
    simulated = calibration.simulate_robustness(SMALL_FIT, NO_EFFECT, 0)
    corruption = simulated["corruption_accuracy"][lambda t: t["sparsity"].isin([0.0, 0.9])].copy()
    adversarial = simulated["adversarial_accuracy"][lambda t: t["sparsity"].isin([0.0, 0.9])].copy()
    corruption["marker"] = (corruption["sparsity"] > 0) * 1000 + corruption["model"]
    accuracies = pd.DataFrame(
        [(s, m, (s > 0) * 1000 + m, 0.9) for s, n in ((0.0, SMALL["k_dense"]), (0.9, SMALL["k"])) for m in range(n)],
        columns=["sparsity", "model", "top1", "top5"],
    )
    flips = pd.DataFrame({"index": [0, 1], "label": [0, 1], "dense_flip_rate": [0.1, 0.2]})
    tables = {"corruption_accuracy": corruption, "adversarial_accuracy": adversarial, "example_flips": flips}
    return tables, accuracies


def test_resampling_robustness_keeps_the_reference_where_the_verdicts_read_it():
    tables, accuracies = _marked_robustness()
    k = stability.subsample_size(SMALL["k"])
    for seed in range(5):
        drawn, drawn_accuracies = stability.resample_robustness(tables, SPLIT, np.random.default_rng(seed), accuracies)
        corruption = drawn["corruption_accuracy"]
        assert drawn["example_flips"] is tables["example_flips"]
        models = corruption.drop_duplicates(["sparsity", "model"])
        assert len(corruption) == len(models) * len(tables["corruption_accuracy"]) // (3 * SMALL["k"])
        dense_ids = sorted(models.loc[models["sparsity"] == 0, "model"])
        assert dense_ids == [*range(k), *range(SMALL["k"], SMALL["k"] + k)]
        for sparsity, group in (
            (0.0, slice(0, SMALL["k"])),
            (0.0, slice(SMALL["k"], 2 * SMALL["k"])),
            (0.9, slice(0, SMALL["k"])),
        ):
            at = models[(models["sparsity"] == sparsity) & models["model"].between(group.start, group.stop - 1)]
            original = at["marker"] % 1000
            assert len(at) == k and original.between(group.start, group.stop - 1).all()
            assert not original.duplicated().any()
        # the accuracies follow the same draw, and only the drawn models remain
        merged = models.merge(drawn_accuracies, on=["sparsity", "model"], validate="one_to_one")
        assert len(merged) == len(drawn_accuracies) and (merged["marker"] == merged["top1"]).all()
        found, details = judge.robustness_verdicts(drawn, SPLIT, 0.05, drawn_accuracies)
        assert (details["3a-all"]["k_dense"] == k).all()


def test_stability_table_counts_agreements_and_the_commonest_other_verdict():
    table = stability.stability_table(
        {"a": "yes", "b": "no"}, [{"a": "yes", "b": "no"}, {"a": "maybe", "b": "no"}, {"a": "yes", "b": "no"}]
    )
    assert table.columns.tolist() == stability.COLUMNS
    a, b = table.set_index("label").loc["a"], table.set_index("label").loc["b"]
    assert a["same_share"] == pytest.approx(2 / 3) and a["other_verdict"] == "maybe"
    assert a["other_share"] == pytest.approx(1 / 3)
    assert b["same_share"] == 1.0 and pd.isna(b["other_verdict"]) and b["other_share"] == 0.0
    assert (table["resamples"] == 3).all()
    assert stability.unstable(table) == "a (67%)"


def test_a_huge_effect_is_stable_and_a_seed_repeats_the_table():
    # K = 6: re-splits of 12 models are many enough for a class count's permutation p to pass Holm
    population = calibration.simulate_population(dataclasses.replace(SMALL_FIT, k=6, k_dense=18), HUGE, 1)
    tables, _ = _marked_robustness()
    first = stability.verdict_stability(population, FINE, tables, SPLIT, resamples=3, seed=4)
    claim = first.set_index("label").loc["1"]
    assert claim["verdict"] == REPRODUCED and claim["same_share"] == 1.0
    assert {"3a", "3a-all", "3b"} <= set(first["label"])
    assert (first["resamples"] == 3).all() and first["same_share"].between(0, 1).all()
    pd.testing.assert_frame_equal(first, stability.verdict_stability(population, FINE, tables, SPLIT, 3, 4))


def _store(results, population):
    """``population`` written to ``results`` as finished runs (logits that rank each model's top-5 first)."""
    pop_dir = store.population_dir(results, population.settings)
    store.write_population_info(pop_dir, population.settings, population.class_names, population.labels)
    for s, top1 in population.top1.items():
        for i, predicted in enumerate(top1):
            logits = np.zeros((len(predicted), population.num_classes), np.float32)
            logits[np.arange(len(predicted)), predicted] = 10.0
            store.write_run(store.run_dir(pop_dir, s, i), None, logits, {}, {})


def test_run_stability_caches_until_an_input_changes(tmp_path, monkeypatch):
    population = calibration.simulate_population(SMALL_FIT, NO_EFFECT, 2)
    _store(tmp_path, population)
    settings = population.settings
    made = stability.run_stability(tmp_path, settings, FAST, resamples=2)
    computed = []
    real = stability.verdict_stability

    def counted(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(stability, "verdict_stability", counted)
    pd.testing.assert_frame_equal(stability.run_stability(tmp_path, settings, FAST, resamples=2), made)
    assert not computed  # read from the cache
    stability.run_stability(tmp_path, settings, FAST, robustness=_marked_robustness()[0], resamples=2)
    assert computed  # other robustness tables: made again
