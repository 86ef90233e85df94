"""Finished folders: how every result is written so that nothing half-written is ever taken for done.

Every file is written to a temporary name, flushed and renamed into place. A folder is *finished* when
its ``DONE`` file, written last, lists the SHA-256 of its other files and they still match; a folder of
derived results also records in ``DONE`` the inputs it was made from, and is *fresh* only while those
inputs are unchanged (``cached_tables``: read when fresh, else computed and written). Which folders
exist, and what they are called, is the store's business (``store``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pruning_impact.foundations.errors import MissingResultsError, StoreError

DONE_FILE = "DONE"  # written last: the checksums of a folder's files, its inputs and a record
TABLE_SUFFIX = ".csv"  # derived tables are written as CSV


def table_file(name: str) -> str:
    return name + TABLE_SUFFIX


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over ``path``."""
    # host and process in the name: nodes sharing the folder over NFS may have the same process ids
    tmp = path.with_name(f".{path.name}.tmp-{socket.gethostname()}-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, error: OSError) -> StoreError:
    return StoreError(
        f"cannot write {path}: {error.strerror or error}. Choose a folder you can write to (e.g. --results DIR)"
    )


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def save_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def save_npy(path: Path, array: np.ndarray) -> None:
    atomic_write_bytes(path, npy_bytes(array))


def load_npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(folder: str | Path, what: str) -> Path:
    """Create ``folder`` if needed and make sure files can be written in it, before long work starts."""
    folder = Path(folder)
    probe = folder / f".write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StoreError(
            f"cannot write the {what} to {folder}: {exc.strerror or exc}. Choose a folder you can write to"
        ) from None
    return folder


def _canonical(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists), for comparing recorded inputs."""
    return json.loads(json.dumps(obj, sort_keys=True))


def write_finished(directory: Path, payloads: dict[str, bytes], inputs: Any = None, record: Any = None) -> None:
    """Write files atomically, then ``DONE`` with their checksums, the ``inputs`` they were made from and
    a free-form ``record`` (settings, provenance): the folder is finished only then."""
    try:
        (directory / DONE_FILE).unlink(missing_ok=True)  # an interrupted rewrite must not look finished
    except OSError as exc:
        raise _cannot_write(directory / DONE_FILE, exc) from None
    for name, payload in payloads.items():
        atomic_write_bytes(directory / name, payload)
    manifest = {"sha256": {name: hashlib.sha256(payload).hexdigest() for name, payload in payloads.items()}}
    if inputs is not None:
        manifest["inputs"] = inputs
    if record is not None:
        manifest["record"] = record
    save_json(directory / DONE_FILE, manifest)


def read_manifest(directory: Path) -> dict | None:
    """The contents of a folder's ``DONE`` file, or None when it is missing or damaged."""
    try:
        manifest = json.loads((directory / DONE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("sha256"), dict) else None


def is_finished(directory: Path, verify: bool = True, inputs: Any = None) -> bool:
    """True if ``DONE`` exists, (when ``verify``) every file it lists still has its checksum, and (when
    ``inputs`` is given) it records exactly these inputs."""
    manifest = read_manifest(directory)
    if manifest is None:
        return False
    if inputs is not None and manifest.get("inputs") != _canonical(inputs):
        return False
    for name, expected in manifest["sha256"].items():
        path = directory / name
        if not path.is_file() or (verify and sha256(path) != expected):
            return False
    return True


def copy_run(source: Path, target: Path) -> None:
    """Copy a finished run to another population's folder: its files first (hard links where the file system
    allows: files are only ever replaced, never changed in place), its ``DONE`` last."""
    clear(target)
    target.mkdir(parents=True)
    manifest = read_manifest(source)
    for name in manifest["sha256"]:
        try:
            os.link(source / name, target / name)
        except OSError:
            atomic_write_bytes(target / name, (source / name).read_bytes())
    save_json(target / DONE_FILE, manifest)


def clear(directory: Path) -> None:
    """Remove what an unfinished or damaged folder left behind."""
    if directory.exists():
        shutil.rmtree(directory)


def fingerprint(directories: list[Path]) -> str:
    """A digest of these folders' ``DONE`` files: it changes when any of them is rewritten or missing."""
    digest = hashlib.sha256()
    for directory in directories:
        path = directory / DONE_FILE
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()[:16]


def read_tables(directory: Path, inputs: Any) -> dict[str, pd.DataFrame] | None:
    """The tables stored in ``directory`` if they are finished and were made from ``inputs``, else None."""
    if not is_finished(directory, inputs=inputs):
        return None
    names = [name for name in read_manifest(directory)["sha256"] if name.endswith(TABLE_SUFFIX)]
    return {name[: -len(TABLE_SUFFIX)]: pd.read_csv(directory / name) for name in names}


def fresh_tables(directory: Path, inputs: Any, what: str, command: str) -> dict[str, pd.DataFrame]:
    """The tables in ``directory`` made from ``inputs``; when they are missing or stale, an error saying
    which ``command`` makes them (readers never compute)."""
    tables = read_tables(directory, inputs)
    if tables is None:
        raise MissingResultsError(
            f"the {what} are not computed yet (or a model changed since); make them with: {command}"
        )
    return tables


def cached_tables(
    directory: Path, inputs: Any, compute: Callable[[], dict[str, pd.DataFrame]], record: Any = None
) -> dict[str, pd.DataFrame]:
    """Read if fresh, else compute and write: the one cache rule of derived tables.

    The tables in ``directory`` are returned when they are finished and were made from ``inputs``;
    otherwise ``compute()`` makes them, they are written as CSV with a ``DONE`` recording ``inputs``
    and ``record``, and returned as read back, so a cached and a fresh result look the same.
    """
    tables = read_tables(directory, inputs)
    if tables is not None:
        return tables
    computed = compute()
    write_finished(
        directory,
        {table_file(name): table.to_csv(index=False).encode() for name, table in computed.items()},
        inputs,
        record,
    )
    return read_tables(directory, inputs)
