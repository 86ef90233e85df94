import io

import numpy as np
import pandas as pd

from pruning_impact import plots


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
