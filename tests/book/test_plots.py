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
