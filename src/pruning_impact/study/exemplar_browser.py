"""An exemplar browser: static files (no server) to look through the test set by class and sparsity.

For every test image and sparse level it holds whether the image is a PIE_t, its taxicab score (the L1
distance between the dense and the sparse population's label distributions, a continuous exemplar score
from 0 to 2), both label distributions, and the image (one sprite sheet per class). ``write_browser`` writes
``data.js``, the sprites, the page's script and style, and an ``index.html`` that opens on its own; the
book's page loads the same files. Plain ``<script>`` files rather than JSON, so that it also works from
``file://``, where browsers refuse ``fetch``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pruning_impact.analysis.disparity import label_distribution, taxicab_scores
from pruning_impact.analysis.pie import modal_labels
from pruning_impact.foundations import folders
from pruning_impact.foundations.levels import format_percent
from pruning_impact.study import files

SPRITE_COLUMNS = 40  # thumbnails per row of a class's sprite sheet
PER_PAGE = 60  # images per page of the browser
MAX_THUMBNAIL = 64  # larger images (ImageNet) are shrunk to this many pixels on their longer side


def distribution_text(predictions: np.ndarray) -> list[str]:
    """Each example's label distribution over the models of ``predictions`` [K, N] as "label:count" pairs,
    most frequent first (ties: lower label first), e.g. "6:14 0:6"."""
    predictions = np.asarray(predictions)
    fractions = label_distribution(predictions, int(predictions.max()) + 1)
    counts = np.rint(fractions * len(predictions)).astype(np.int64)
    out = []
    for row in counts:
        present = np.flatnonzero(row)
        order = present[np.lexsort((present, -row[present]))]
        out.append(" ".join(f"{c}:{row[c]}" for c in order))
    return out


def browser_data(
    population: str, labels, dense, sparse_by_level: dict[float, np.ndarray], class_names: Sequence[str]
) -> dict:
    """Everything the page shows but the images: per level, PIE flags (the modal label of the level's K models
    differs from the dense reference's), taxicab scores and the sparse label distributions; the dense ones."""
    labels, dense = np.asarray(labels), np.asarray(dense)
    dense_modes = modal_labels(dense)
    num_classes = len(class_names)
    levels = sorted(sparse_by_level)
    data = {
        "population": population,
        "classNames": list(class_names),
        "labels": labels.astype(int).tolist(),
        "kDense": len(dense),
        "dense": distribution_text(dense),
        "levels": [],
    }
    for level in levels:
        sparse = np.asarray(sparse_by_level[level])
        scores = taxicab_scores(dense, sparse, num_classes)
        data["levels"].append(
            {
                "sparsity": float(level),
                "name": format_percent(level),
                "k": len(sparse),
                "pie": "".join("1" if p else "0" for p in modal_labels(sparse) != dense_modes),
                "score": [round(float(s), 3) for s in scores],
                "sparse": distribution_text(sparse),
            }
        )
    return data


def thumbnails(images: np.ndarray) -> np.ndarray:
    """uint8 images [n, H, W] or [n, H, W, C], shrunk so that the longer side is at most ``MAX_THUMBNAIL``."""
    images = np.asarray(images)
    height, width = images.shape[1:3]
    if max(height, width) <= MAX_THUMBNAIL:
        return images
    from PIL import Image

    size = (max(1, width * MAX_THUMBNAIL // max(height, width)), max(1, height * MAX_THUMBNAIL // max(height, width)))
    return np.stack([np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR)) for image in images])


def write_sprites(out: Path, labels: np.ndarray, images: Callable[[np.ndarray], np.ndarray], num_classes: int) -> dict:
    """One PNG per class with its test images in test order, ``SPRITE_COLUMNS`` per row; returns the layout
    the page needs (thumbnail size, columns, file names)."""
    from PIL import Image

    sprites, size = [], None
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        name = files.sprite_file(c)
        sprites.append(name)
        if not len(members):
            continue
        thumbs = thumbnails(images(members))
        size = thumbs.shape[1:3]
        rows = -(-len(thumbs) // SPRITE_COLUMNS)
        sheet = np.zeros((rows * size[0], SPRITE_COLUMNS * size[1], *thumbs.shape[3:]), dtype=np.uint8)
        for j, thumb in enumerate(thumbs):
            r, col = divmod(j, SPRITE_COLUMNS)
            sheet[r * size[0] : (r + 1) * size[0], col * size[1] : (col + 1) * size[1]] = thumb
        Image.fromarray(sheet).save(out / name, optimize=True)
    return {"height": int(size[0]), "width": int(size[1]), "columns": SPRITE_COLUMNS, "files": sprites}


def write_browser(
    out: str | Path,
    population: str,
    labels,
    dense,
    sparse_by_level: dict[float, np.ndarray],
    class_names: Sequence[str],
    images: Callable[[np.ndarray], np.ndarray],
) -> Path:
    """Write the browser's files into ``out`` (made if missing) and return ``out``. ``images(indices)`` returns
    raw uint8 test images; ``dense`` [K_ref, N] are the dense reference's predictions."""
    out = folders.check_writable(Path(out), "exemplar browser")
    labels = np.asarray(labels)
    data = browser_data(population, labels, dense, sparse_by_level, class_names)
    data["perPage"] = PER_PAGE
    data["sprites"] = write_sprites(out, labels, images, len(class_names))
    payload = "window.exemplarBrowserData = " + json.dumps(data, separators=(",", ":")) + ";\n"
    folders.atomic_write_bytes(out / files.BROWSER_DATA_FILE, payload.encode())
    for name in files.BROWSER_APP_FILES:
        shutil.copyfile(files.TEMPLATES / name, out / name)
    folders.atomic_write_bytes(out / files.BROWSER_INDEX_FILE, page(".", f"Exemplar browser: {population}").encode())
    return out


def embed(base: str) -> str:
    """The HTML that puts the browser into a page, loading its files from ``base`` (a URL or relative path)."""
    base = base.rstrip("/")
    return (
        f'<link rel="stylesheet" href="{base}/{files.BROWSER_STYLE}">\n'
        f'<div id="exemplar-browser-app" data-base="{base}/"><p class="eb-loading">Loading the exemplar browser ...</p>'
        "<noscript>The exemplar browser needs JavaScript.</noscript></div>\n"
        f'<script src="{base}/{files.BROWSER_DATA_FILE}"></script>\n<script src="{base}/{files.BROWSER_SCRIPT}"></script>\n'
    )


def page(base: str, title: str) -> str:
    """A page of its own around ``embed``."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>body {{ font-family: system-ui, sans-serif; margin: 1rem; }}</style>\n"
        "</head>\n<body>\n"
        f"<h1>{title}</h1>\n{embed(base)}</body>\n</html>\n"
    )


def folder_name(population: str, levels: Sequence[float], k: int, k_dense: int) -> str:
    """The browser's folder under the book's static files: one per population and population sizes."""
    described = json.dumps([population, [float(s) for s in levels], k, k_dense])
    return f"{population}-{hashlib.sha256(described.encode()).hexdigest()[:8]}"


def population_browser(results_dir, settings, static_root: str | Path) -> Path:
    """The browser of a stored population, written into ``<static_root>/<folder_name>``: every sparse level
    against the dense reference (the first K_ref dense models, as in the analysis). Browsers of other
    populations in ``static_root`` are removed: the book's page shows one, and the build copies them all."""
    from pruning_impact.analysis.predictions import load_population
    from pruning_impact.training.datasets import load_dataset

    population = load_population(results_dir, settings)
    pop = settings.population
    folder = Path(static_root) / folder_name(settings.name, pop.levels, pop.population_size, pop.size_at(0.0))
    for old in Path(static_root).glob(f"*/{files.BROWSER_DATA_FILE}"):  # a book shows one browser: drop earlier ones
        if old.parent != folder:
            shutil.rmtree(old.parent)
    return write_browser(
        folder,
        settings.name,
        population.labels,
        population.dense_reference,
        {s: population.top1[s] for s in population.sparse_levels},
        population.class_names,
        load_dataset(settings.data).test_images,
    )
