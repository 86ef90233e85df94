import io

import numpy as np
import pandas as pd

from pruning_impact.book import plots


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plots.plt.close(fig)
    return buffer.getvalue()


def test_the_accuracy_figure_is_the_same_every_time_and_leaves_numpy_alone():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "sparsity": np.repeat([0.0, 0.5, 0.9], 6),
            "model": np.tile(np.arange(6), 3),
            "top1": rng.uniform(0.8, 0.9, 18),
            "top5": rng.uniform(0.95, 1.0, 18),
        }
    )
    np.random.seed(7)
    expected_next = np.random.random()
    np.random.seed(7)
    first = png(plots.accuracy_distributions(table))
    assert np.random.random() == expected_next  # the global generator's state is restored
    np.random.seed(123)
    assert png(plots.accuracy_distributions(table)) == first


def test_the_natural_shift_figure_draws():
    relative = pd.DataFrame(
        {
            "sparsity": np.repeat([0.0, 0.5, 0.9], 3),
            "model": np.tile(np.arange(3), 3),
            "set": "ImageNet-A",
            "relative_top1": np.linspace(0.05, 0.02, 9),
            "relative_top5": np.linspace(0.2, 0.1, 9),
        }
    )
    fig = plots.natural_shift_figure(relative)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["top-1", "top-5"]
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0, 50, 90])
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), relative.groupby("sparsity")["relative_top1"].mean())
    assert png(fig).startswith(b"\x89PNG")
    one_model = relative[relative["model"] == 0]  # a single model per level: no interval, still drawn
    assert png(plots.natural_shift_figure(one_model, title="one model")).startswith(b"\x89PNG")
    assert png(plots.natural_shift_figure(relative.iloc[:0])).startswith(b"\x89PNG")


def test_the_forest_plot_draws_a_panel_per_quantity_and_the_book_s_intervals():
    from matplotlib.container import ErrorbarContainer

    nan = np.nan
    table = pd.DataFrame(
        [
            ("top-1 change", 0.5, "ImageNet (paper)", -0.008, nan, nan),
            ("top-1 change", 0.5, "this book", -0.01, -0.02, 0.0),
            ("top-1 change", 0.9, "ImageNet (paper)", -0.04, nan, nan),
            ("top-1 change", 0.9, "CIFAR-10 (paper)", -0.004, nan, nan),
            ("top-1 change", 0.9, "this book", -0.03, -0.04, -0.02),
            ("PIE share", 0.5, "this book", 0.01, nan, nan),  # no interval: a point only
            ("PIE share", 0.9, "CIFAR-10 (paper)", 0.02, nan, nan),
            ("PIE share", 0.9, "this book", 0.015, 0.012, 0.018),
        ],
        columns=["quantity", "sparsity", "source", "value", "ci_low", "ci_high"],
    )
    fig = plots.forest_plot(table)
    assert [ax.get_title() for ax in fig.axes] == ["top-1 change", "PIE share"]
    bars = [
        sum(len(c.lines[2][0].get_segments()) for c in ax.containers if isinstance(c, ErrorbarContainer))
        for ax in fig.axes
    ]
    assert bars == [2, 1]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["50%", "90%"]
    assert png(fig).startswith(b"\x89PNG")
