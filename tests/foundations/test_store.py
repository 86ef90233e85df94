import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pruning_impact.cli import main
from pruning_impact.foundations import folders, store
from pruning_impact.foundations.errors import StoreError

SOURCE = Path(__file__).resolve().parents[2] / "src" / "pruning_impact"
FILE_NAME = re.compile(r"\.(npy|csv|json|pt|html|js|css|png|ipynb)\b")


def file_name_literals(source: str) -> list[str]:
    """String literals (f-strings included, docstrings not) that contain a results-file name."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings | parts:
            if FILE_NAME.search(node.value):
                found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
            if FILE_NAME.search(text):
                found.append(text)
    return found


def test_the_file_name_check_finds_names():
    planted = 'x = "clean.npy"\ny = f"{name}-s{severity}.npy"\nz = f"{a}.csv"\n'
    assert file_name_literals(planted) == ["clean.npy", "{}-s{}.npy", "{}.csv"]
    assert file_name_literals('"""Reads ``labels.npy``."""\nw = "model.pt"\n') == ["model.pt"]
    assert file_name_literals('v = "values in [0, 1]. Then"\nu = p.with_suffix(".json")\n') == [".json"]


# The modules that may spell a file name: the results store (with the finished folders' DONE and table suffix), the
# book's paths, the study's templates and exemplar browser, and the published datasets' layouts beside their loaders.
NAMING_MODULES = {
    "foundations/store.py",
    "foundations/folders.py",
    "book/paths.py",
    "study/files.py",
    "training/datasets.py",
    "robustness/shifted_sets.py",
}


def test_only_the_naming_modules_name_files():
    offenders = {
        path.relative_to(SOURCE).as_posix(): file_name_literals(path.read_text())
        for path in sorted(SOURCE.rglob("*.py"))
        if path.relative_to(SOURCE).as_posix() not in NAMING_MODULES
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    assert all((SOURCE / name).is_file() for name in NAMING_MODULES)


def tables():
    return {"a": pd.DataFrame({"x": [1, 2], "y": [0.5, 0.25]}), "b": pd.DataFrame({"z": ["p", "q"]})}


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return tables()


def test_cache_fresh_hit(tmp_path):
    compute = Counter()
    first = folders.cached_tables(tmp_path / "t", {"runs": "abc"}, compute, record={"who": "test"})
    second = folders.cached_tables(tmp_path / "t", {"runs": "abc"}, compute)
    assert compute.calls == 1
    for name in ("a", "b"):
        pd.testing.assert_frame_equal(first[name], tables()[name])
        pd.testing.assert_frame_equal(second[name], first[name])
    assert folders.read_manifest(tmp_path / "t")["record"] == {"who": "test"}


def test_cache_stale_inputs_recompute(tmp_path):
    compute = Counter()
    folders.cached_tables(tmp_path / "t", {"runs": "abc", "options": (1, 2)}, compute)
    assert folders.read_tables(tmp_path / "t", {"runs": "abc", "options": [1, 2]}) is not None  # tuples read as lists
    assert folders.read_tables(tmp_path / "t", {"runs": "abd", "options": [1, 2]}) is None
    folders.cached_tables(tmp_path / "t", {"runs": "abd", "options": (1, 2)}, compute)
    assert compute.calls == 2
    assert folders.read_manifest(tmp_path / "t")["inputs"]["runs"] == "abd"


@pytest.mark.parametrize("damage", ["garbage", "", '{"sha256": 3}', "[1, 2]"])
def test_cache_damaged_manifest_recomputes(tmp_path, damage):
    compute = Counter()
    folders.cached_tables(tmp_path / "t", {"runs": "abc"}, compute)
    (tmp_path / "t" / folders.DONE_FILE).write_text(damage)
    assert folders.read_tables(tmp_path / "t", {"runs": "abc"}) is None
    folders.cached_tables(tmp_path / "t", {"runs": "abc"}, compute)
    assert compute.calls == 2 and folders.read_tables(tmp_path / "t", {"runs": "abc"}) is not None


def test_cache_interrupted_write_recomputes(tmp_path, monkeypatch):
    compute = Counter()
    folders.cached_tables(tmp_path / "t", {"runs": "old"}, compute)
    real_write, written = folders.atomic_write_bytes, []

    def dies_on_second_file(path, payload):
        written.append(path.name)
        if len(written) == 2:
            raise KeyboardInterrupt  # the process stops half-way through a rewrite
        real_write(path, payload)

    monkeypatch.setattr(folders, "atomic_write_bytes", dies_on_second_file)
    with pytest.raises(KeyboardInterrupt):
        folders.cached_tables(tmp_path / "t", {"runs": "new"}, compute)
    monkeypatch.setattr(folders, "atomic_write_bytes", real_write)
    # neither the old nor the half-written new tables count as finished
    assert folders.read_tables(tmp_path / "t", {"runs": "old"}) is None
    assert folders.read_tables(tmp_path / "t", {"runs": "new"}) is None
    folders.cached_tables(tmp_path / "t", {"runs": "new"}, compute)
    assert compute.calls == 3 and folders.read_tables(tmp_path / "t", {"runs": "new"}) is not None
    assert not list((tmp_path / "t").glob(".*tmp*"))


def test_a_changed_table_file_is_not_fresh(tmp_path):
    compute = Counter()
    folders.cached_tables(tmp_path / "t", {"runs": "abc"}, compute)
    (tmp_path / "t" / folders.table_file("a")).write_text("x,y\n9,9\n")
    folders.cached_tables(tmp_path / "t", {"runs": "abc"}, compute)
    assert compute.calls == 2
    assert folders.read_tables(tmp_path / "t", {"runs": "abc"})["a"]["x"].tolist() == [1, 2]


def test_fingerprint_follows_done_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    folders.write_finished(a, {"x.bin": b"1"})
    before = folders.fingerprint([a, b])
    folders.write_finished(b, {"x.bin": b"2"})
    assert folders.fingerprint([a, b]) != before
    folders.write_finished(b, {"x.bin": b"3"})
    assert len({before, folders.fingerprint([a, b])}) == 2


def test_unwritable_results_is_one_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot write"):
        folders.save_npy(blocker / "x" / "y.npy", np.zeros(2))
    assert main(["train", "--profile", "smoke", "--results", str(blocker / "results"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the results to") and "Traceback" not in err


def test_prediction_arrays_keep_logits_only_for_few_classes():
    rng = np.random.default_rng(0)
    small = store.prediction_arrays(rng.normal(size=(5, 10)).astype(np.float32))
    large = store.prediction_arrays(rng.normal(size=(5, 1000)).astype(np.float32))
    assert store.LOGITS_FILE in small and store.LOGITS_FILE not in large
    assert large[store.TOP5_FILE].shape == (5, 5) and large[store.TOP5_PROB_FILE].dtype == np.float16
    probs = large[store.TOP5_PROB_FILE].astype(np.float32)
    assert (np.diff(probs, axis=1) <= 1e-3).all()
