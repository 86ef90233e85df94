import pandas as pd

from pruning_impact.book.display import markdown_table


def test_markdown_table():
    table = pd.DataFrame({"a": [1, 2], "b": [0.123456, None], "c": ["x|y", "z"], "sparsity": [0.1, 0.975]})
    assert markdown_table(table, digits=3).splitlines() == [
        "| a | b | c | sparsity |",
        "|---|---|---|---|",
        "| 1 | 0.123 | x/y | 10% |",
        "| 2 | - | z | 97.5% |",
    ]
