"""The calibration's simulator, its fit, its scenarios and its summary, on tiny sizes."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from pruning_impact.verdicts import calibration, claims

PLANTED_FIT = dataclasses.replace(
    calibration.DEFAULT_FIT,
    always_right=0.8,
    never_right=0.03,
    uncertain_beta=(0.8, 0.5),
    alternative_share=0.95,
    class_bias=0.3,
    class_effects={},
    pie_excess={},
)
TINY = dataclasses.replace(
    calibration.DEFAULT_FIT,
    k=4,
    k_dense=12,
    classes=4,
    n=400,
    levels=(0.5, 0.7, 0.9),
    class_effects={0.9: (0.02, -0.02, 0.01, -0.01)},
    pie_excess={0.9: 20},
    dense_corruption={"gaussian_noise": (0.9, 0.01, -0.02), "fog": (0.5, 0.05, 0.0)},
    dense_attack={"fgsm": (0.5, 0.02, -0.05)},
)


def _moment_tables(levels) -> dict[str, pd.DataFrame]:
    """The few columns of the analysis tables that ``fit_simulator`` reads."""
    tests = pd.DataFrame(
        [
            {"sparsity": t, "correction": c, "class": k, "normalized_recall_difference": 0.01 * k * (c == "none")}
            for t in levels
            for c in ("none", "fdr_bh")
            for k in range(10)
        ]
    )
    counts = pd.DataFrame({"sparsity": levels, "n_pie": [100 + 50 * i for i in range(len(levels))]})
    return {"class_tests": tests, "pie_counts": counts, "pie_noise_floor": pd.DataFrame({"n_pie": [110.0, 130.0]})}


def test_the_fit_recovers_the_simulators_parameters():
    population = calibration.simulate_population(PLANTED_FIT, calibration.scenarios(PLANTED_FIT)["no-effect"], 3)
    fit = calibration.fit_simulator(population, _moment_tables(PLANTED_FIT.levels))
    assert fit.always_right == pytest.approx(0.8, abs=0.02)
    assert fit.never_right == pytest.approx(0.03, abs=0.01)
    assert fit.alternative_share == pytest.approx(0.95, abs=0.02)
    assert fit.class_bias == pytest.approx(0.3, abs=0.06)
    assert (fit.k, fit.k_dense, fit.classes, fit.n, fit.levels) == (20, 60, 10, 10_000, PLANTED_FIT.levels)
    assert fit.class_effects[0.9] == pytest.approx(tuple(0.01 * k for k in range(10)))
    assert fit.pie_excess == {0.1: 0, 0.3: 30, 0.5: 80, 0.7: 130, 0.9: 180}
    assert not fit.dense_corruption and fit.sparse_spread == 1.0  # no robustness tables, none simulated


def test_the_fit_reads_robustness_per_model():
    corruption = pd.DataFrame(
        {
            "sparsity": [0.0, 0.0, 0.0, 0.0, 0.9, 0.9],
            "model": [0, 0, 1, 1, 0, 1],
            "corruption": "fog",
            "severity": [1, 2, 1, 2, 1, 1],
            "relative_top1": [0.5, 0.7, 0.7, 0.9, 0.5, 0.7],
        }
    )
    population = calibration.simulate_population(TINY, calibration.scenarios(TINY)["no-effect"], 0)
    fit = calibration.fit_simulator(population, _moment_tables(TINY.levels), {"corruption_accuracy": corruption})
    mean, sd, change = fit.dense_corruption["fog"]
    assert (mean, change) == pytest.approx((0.7, -0.1)) and sd == pytest.approx(np.sqrt(0.02))
    assert fit.sparse_spread == pytest.approx(1.0) and fit.dense_attack == {}


def test_figure_4_changes_harder_images_at_low_sparsity():
    fit = dataclasses.replace(PLANTED_FIT, k=8, k_dense=16, n=4000, pie_excess={0.9: 100})
    population = calibration.simulate_population(fit, calibration.scenarios(fit)["figure-4"], 0)
    dense = population.top1[0.0]
    hit = (dense == population.labels).mean(axis=0)
    modal = np.array([np.bincount(column, minlength=10).argmax() for column in dense.T])

    def hardness(t):
        sparse = population.top1[t]
        pies = np.array([np.bincount(column, minlength=10).argmax() for column in sparse.T]) != modal
        return hit[pies].mean()

    assert hardness(0.1) < hardness(0.5) < hardness(0.9)


def test_the_scenarios_scale_and_mirror_the_seen_effects():
    found = calibration.scenarios(TINY)
    assert found["seen-x2"].class_effects[0.9] == pytest.approx(tuple(2 * x for x in TINY.class_effects[0.9]))
    assert found["seen-x0.5"].pie_excess == {0.9: 10}
    symmetric = np.array(found["symmetric-classes"].class_effects[0.9])
    assert sorted(symmetric) == pytest.approx(sorted(-symmetric)) and (symmetric > 0).sum() == 2
    assert found["paper"].corruption_change["gaussian_noise"] < -0.1  # Table 5's loss, not the seen one
    assert found["contested"].pie_hardness[0.9] == calibration.CONTESTED
    assert set(calibration.PLANTED.values()) <= set(found)
    assert {s for claim in calibration.NULLS for s in calibration.nulls_of(claim)} <= set(found)


def _rates(rows) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["claim", "scenario", claims.REPRODUCED, claims.NOT_EVALUATED, "reason"])
    return table.reindex(columns=["claim", "scenario", *calibration.VERDICTS, "reason"], fill_value=0.0)


def test_summary_on_hand_made_rates():
    rates = _rates(
        [
            ("1", "no-effect", 0.02, 0.0, ""),
            ("1", "noise-grows", 0.04, 0.0, ""),
            ("1", "seen", 0.9, 0.0, ""),
            ("2s", "no-effect", 0.0, 0.0, ""),
            ("2s", "contested", 0.3, 0.0, ""),
            ("2s", "paper", 0.85, 0.0, ""),
            ("1r", "no-effect", 0.01, 0.0, ""),
            ("1r", "symmetric-classes", 0.1, 0.0, ""),
            ("3n", "no-effect", 0.0, 1.0, "no natural adversarial set"),
            ("3n", "paper", 0.0, 1.0, "no natural adversarial set"),
        ]
    )
    result = calibration.summary(rates)
    assert result["null_max"] == pytest.approx(0.3) and result["planted_min"] == pytest.approx(0.85)
    assert set(result["not_counted"]) == {"1r", "3n"}
    assert "no natural adversarial set" in result["not_counted"]["3n"]


def test_a_calibration_is_cached_with_its_sizes_and_fit(tmp_path, monkeypatch):
    rates = calibration.run_calibration(tmp_path, TINY, simulations=1, seed=0, workers=1)
    assert set(rates["scenario"]) == set(calibration.scenarios(TINY))
    assert (rates[["k", "k_dense", "n", "simulations"]] == [4, 12, 400, 1]).all().all()
    assert rates[list(calibration.VERDICTS)].sum(axis=1).to_numpy() == pytest.approx(1.0)
    untested = rates[rates[claims.NOT_TESTABLE] > 0]  # three levels have 6 orderings: no trend is testable
    assert {"1t", "2t"} <= set(untested["claim"]) and (untested["reason"] != "").all()

    def fail(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(calibration, "calibrate", fail)
    again = calibration.run_calibration(tmp_path, TINY, simulations=1, seed=0, workers=1)
    pd.testing.assert_frame_equal(rates, again)
    pd.testing.assert_frame_equal(rates, calibration.read_calibration(tmp_path, TINY, simulations=1, seed=0))
    folder, _ = calibration.calibration_folder(tmp_path, TINY, 1, 0)
    assert pd.read_csv(folder / "fit.csv").loc[0, "k_dense"] == 12
    with pytest.raises(Exception, match="pruning-impact calibrate"):
        calibration.read_calibration(tmp_path, dataclasses.replace(TINY, class_bias=0.1), simulations=1, seed=0)
