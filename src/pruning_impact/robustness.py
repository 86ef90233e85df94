"""Robustness of a stored population (the paper's Section 3.3): every model's accuracy on corrupted
test sets (Table 5, Figure 7) and under FGSM and PGD attacks, per-example predictions kept.

Corrupted test sets come from CIFAR-10-C or ImageNet-C where the user has them in the data folder,
otherwise they are generated once per dataset, subsample and seed and cached in the results
folder; each model's predictions on them are written next to its run, finished by a ``DONE`` file
with checksums, so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats as scipy_stats
from tqdm import tqdm

from . import store
from .corruptions import CONSTANTS_VERSION, CORRUPTIONS, corrupt
from .data import ImageData, images_to_input, load_dataset, pixel_bounds
from .errors import DataError, MissingResultsError, SettingsError
from .models import build_model
from .pie import modal_labels
from .robustness_sets import load_cifar10_1, load_cifar10_c, load_imagenet_a, load_imagenet_c
from .settings import Settings
from .train import resolve_device

ATTACKS = ("fgsm", "pgd")
ROBUSTNESS_TABLES = ("corruption_accuracy", "adversarial_accuracy", "example_flips", "natural_accuracy")
CORRUPTION_TABLES = ROBUSTNESS_TABLES[:3]
NATURAL_COLUMNS = ["set", "sparsity", "model", "top1", "top5", "top1_restricted"]


@dataclass(frozen=True)
class RobustnessOptions:
    """What the robustness evaluation covers; its hash names the cached predictions."""

    corruptions: tuple[str, ...] = CORRUPTIONS
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    subsample: int | None = 2000  # test images per corrupted set (fixed, seeded); None: the whole test set
    epsilons: tuple[float, ...] = (0.01, 0.03, 0.1)  # L-infinity radii in pixel units ([0, 1] scale)
    attacks: tuple[str, ...] = ATTACKS
    adversarial_subsample: int | None = 500  # test images attacked per model
    pgd_steps: int = 10
    models_per_level: int | None = None  # None: K (the dense reference, and every sparse model)
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.corruptions) - set(CORRUPTIONS)
        if unknown:
            raise SettingsError(f"unknown corruption {sorted(unknown)[0]!r}; choose from: {', '.join(CORRUPTIONS)}")
        if not self.severities or not set(self.severities) <= {1, 2, 3, 4, 5}:
            raise SettingsError(f"severities {self.severities!r} must be whole numbers from 1 to 5")
        if set(self.attacks) - set(ATTACKS):
            raise SettingsError(f"attacks {self.attacks!r} must be among {ATTACKS}")
        if any(not 0 < e < 1 for e in self.epsilons):
            raise SettingsError(f"epsilons {self.epsilons!r} must lie in (0, 1) (pixel units)")
        for name in ("subsample", "adversarial_subsample", "models_per_level"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SettingsError(f"{name} {value} must be None or >= 1")
        if self.pgd_steps < 1:
            raise SettingsError("pgd_steps must be >= 1")

    @property
    def key(self) -> str:
        text = json.dumps({**dataclasses.asdict(self), "constants": CONSTANTS_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def subsample_indices(num_test: int, size: int | None, seed: int) -> np.ndarray:
    """A fixed, seeded, sorted subsample of test indices (all of them when ``size`` is None or too large)."""
    if size is None or size >= num_test:
        return np.arange(num_test)
    return np.sort(np.random.default_rng(seed).choice(num_test, size, replace=False))


def published_sets_dir(settings: Settings) -> Path | None:
    """Where the published corrupted version of the dataset would be: ``<data_dir>/CIFAR-10-C`` or
    ``<data_dir>/imagenet-c``; None for datasets that have none."""
    name = {"cifar10": "CIFAR-10-C", "imagenet": "imagenet-c"}.get(settings.data.dataset)
    return Path(settings.data.data_dir) / name if name else None


def _published_set(data: ImageData, folder: Path, name: str, severity: int, indices: np.ndarray) -> np.ndarray | None:
    """The subsample of a published corrupted set (CIFAR-10-C or ImageNet-C keep the test set's order),
    or None when that corruption is not there."""
    if data.name == "cifar10" and (folder / f"{name}.npy").is_file():
        images, labels = load_cifar10_c(folder, name, severity)
    elif data.name == "imagenet" and (folder / name / str(severity)).is_dir():
        images, labels = load_imagenet_c(folder, name, severity, data.class_names)
    else:
        return None
    if len(labels) != len(data.test_labels) or not np.array_equal(labels, data.test_labels):
        raise DataError(f"the labels of {folder} ({name}, severity {severity}) do not follow the test set's order")
    return np.asarray(images[indices])


def corrupted_sets(data: ImageData, options: RobustnessOptions, results_dir: str | Path, dataset_key: str,
                   progress: bool = True, published: Path | None = None
                   ) -> tuple[np.ndarray, dict[tuple[str, int], np.ndarray], dict[str, str]]:
    """The subsample's indices, its corrupted images per (corruption, severity) and the source of each
    corruption: the published set in ``published`` where it has the corruption (CIFAR-10-C,
    ImageNet-C), otherwise generated by ``corruptions.corrupt`` and cached on disk."""
    indices = subsample_indices(len(data.test_labels), options.subsample, options.seed)
    clean = None
    sets, sources = {}, {}
    jobs = [(name, severity) for name in options.corruptions for severity in options.severities]
    for name, severity in tqdm(jobs, desc="corrupted test sets", disable=not progress, leave=False):
        images = _published_set(data, published, name, severity, indices) if published and published.is_dir() else None
        if images is not None:
            sets[(name, severity)], sources[name] = images, published.name
            continue
        path = store.corrupted_set_path(results_dir, f"{dataset_key}-n{len(indices)}-sample{options.seed}", name,
                                        severity, options.seed, CONSTANTS_VERSION)
        if path.is_file():
            try:
                images = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                images = None  # damaged: made again below
        if images is None or len(images) != len(indices):
            if clean is None:
                clean = data.test_images(indices)
            images = corrupt(clean, name, severity, seed=options.seed)
            store.save_npy(path, images)
        sets[(name, severity)], sources[name] = images, "generated"
    return indices, sets, sources


@torch.no_grad()
def _top5(model: torch.nn.Module, inputs: torch.Tensor, device: torch.device, batch: int = 128) -> np.ndarray:
    out = []
    for start in range(0, len(inputs), batch):
        x = inputs[start:start + batch].to(device).contiguous(memory_format=torch.channels_last)
        logits = model(x)
        out.append(logits.topk(min(5, logits.shape[1]), dim=1).indices.cpu().numpy().astype(np.int16))
    return np.concatenate(out)


@torch.enable_grad()
def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, dataset: str) -> torch.Tensor:
    """One signed-gradient step of L-infinity size ``epsilon`` (pixel units), kept within valid pixels."""
    low, high, std = (t.to(x.device) for t in pixel_bounds(dataset))
    x = x.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    return torch.max(torch.min(x.detach() + epsilon / std * grad.sign(), high), low)


@torch.enable_grad()
def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, dataset: str, steps: int,
        generator: torch.Generator) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball (random start, step 2.5 * epsilon / steps)."""
    low, high, std = (t.to(x.device) for t in pixel_bounds(dataset))
    radius, step = epsilon / std, 2.5 * epsilon / steps / std
    start = (torch.rand(x.shape, generator=generator) * 2 - 1).to(x.device) * radius
    adv = torch.max(torch.min(x + start, high), low)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step * grad.sign()
        adv = torch.max(torch.min(torch.max(torch.min(adv, x + radius), x - radius), high), low)
    return adv.detach()


def _adversarial_top1(model, inputs, labels, attack, epsilon, dataset, steps, seed, device, batch=128) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    predictions = []
    for start in range(0, len(inputs), batch):
        x = inputs[start:start + batch].to(device).contiguous(memory_format=torch.channels_last)
        y = labels[start:start + batch].to(device)
        adv = fgsm(model, x, y, epsilon, dataset) if attack == "fgsm" else \
            pgd(model, x, y, epsilon, dataset, steps, generator)
        with torch.no_grad():
            predictions.append(model(adv).argmax(1).cpu().numpy().astype(np.int16))
    return np.concatenate(predictions)


def load_model(settings: Settings, run: Path, data: ImageData, device: torch.device) -> torch.nn.Module:
    model = build_model(settings.model, data.image_shape, data.num_classes)
    model.load_state_dict(torch.load(run / store.MODEL_FILE, map_location="cpu", weights_only=True))
    return model.to(device, memory_format=torch.channels_last).eval()


def evaluated_runs(settings: Settings, options: RobustnessOptions) -> list[tuple[float, int]]:
    """(sparsity, index) of the models evaluated: K dense reference models and K per sparse level."""
    pop = settings.population
    per_level = options.models_per_level or pop.population_size
    return [(s, i) for s in sorted(pop.sparsities) for i in range(min(per_level, pop.size_at(s)))]


def evaluate_population(settings: Settings, results_dir: str | Path, options: RobustnessOptions = RobustnessOptions(),
                        progress: bool = True) -> Path:
    """Evaluate every model in ``evaluated_runs`` on the corrupted and adversarial test sets, and on the
    dataset's natural shifted set where the user has it (skipping finished work); return the tables' folder."""
    pop_dir = store.population_dir(results_dir, settings)
    runs = evaluated_runs(settings, options)
    missing = [(s, i) for s, i in runs if not store.run_is_done(store.run_dir(pop_dir, s, i), verify=False)]
    if missing:
        raise MissingResultsError(f"{len(missing)} model(s) of {settings.name} are not trained; train them with: "
                                  f"{store.train_command(settings, results_dir)}")
    folder = _evaluate_corruptions(settings, results_dir, options, runs, progress)
    _evaluate_natural_set(settings, results_dir, options, runs, folder, progress)
    return folder


def _evaluate_corruptions(settings: Settings, results_dir: str | Path, options: RobustnessOptions,
                          runs: list[tuple[float, int]], progress: bool) -> Path:
    pop_dir = store.population_dir(results_dir, settings)
    todo = [(s, i) for s, i in runs
            if not store.run_is_done(store.robustness_dir(store.run_dir(pop_dir, s, i), options.key))]
    tables = store.robustness_tables_dir(pop_dir, options.key)
    if not todo and all((tables / f"{name}.csv").is_file() for name in CORRUPTION_TABLES):
        return tables
    data = load_dataset(settings.data)
    device = resolve_device(settings.training.device)
    dataset_key = settings.data.dataset + (f"-test{settings.data.test_subset}" if settings.data.test_subset else "")
    indices, sets, sources = corrupted_sets(data, options, results_dir, dataset_key, progress,
                                            published_sets_dir(settings))
    clean = data.test_images(indices)
    labels = data.test_labels[indices]
    adv_indices = subsample_indices(len(data.test_labels), options.adversarial_subsample, options.seed + 1)
    adv_inputs = images_to_input(data.name, data.test_images(adv_indices))
    adv_labels = torch.from_numpy(data.test_labels[adv_indices])
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="robustness", unit="model", disable=not progress)
    for sparsity, index in todo:
        run = store.run_dir(pop_dir, sparsity, index)
        model = load_model(settings, run, data, device)
        payloads = {"clean.npy": store.npy_bytes(_top5(model, images_to_input(data.name, clean), device))}
        for (name, severity), images in sets.items():
            payloads[f"{name}-s{severity}.npy"] = store.npy_bytes(_top5(model, images_to_input(data.name, images), device))
        payloads["adv-clean.npy"] = store.npy_bytes(_top5(model, adv_inputs, device)[:, 0])
        for attack in options.attacks:
            for epsilon in options.epsilons:
                top1 = _adversarial_top1(model, adv_inputs, adv_labels, attack, epsilon, data.name, options.pgd_steps,
                                         options.seed, device)
                payloads[f"adv-{attack}-{epsilon:g}.npy"] = store.npy_bytes(top1)
        store.write_finished(store.robustness_dir(run, options.key), payloads)
        bar.update(1)
    bar.close()
    return write_robustness_tables(settings, results_dir, options, indices, labels, adv_indices, sources)


def write_robustness_tables(settings: Settings, results_dir: str | Path, options: RobustnessOptions,
                            indices: np.ndarray, labels: np.ndarray, adv_indices: np.ndarray,
                            sources: dict[str, str]) -> Path:
    """Per-model accuracy tables (corruptions, adversarial) and per-example flips, from stored predictions."""
    pop_dir = store.population_dir(results_dir, settings)
    all_labels = np.load(pop_dir / store.LABELS_FILE)
    adv_labels = all_labels[adv_indices]
    rows, adv_rows, flips = [], [], {}
    for sparsity, index in evaluated_runs(settings, options):
        folder = store.robustness_dir(store.run_dir(pop_dir, sparsity, index), options.key)
        clean = np.load(folder / "clean.npy")
        clean_top1 = float((clean[:, 0] == labels).mean())
        clean_top5 = float((clean == labels[:, None]).any(1).mean())
        for name in options.corruptions:
            for severity in options.severities:
                top5 = np.load(folder / f"{name}-s{severity}.npy")
                top1 = float((top5[:, 0] == labels).mean())
                rows.append({"sparsity": sparsity, "model": index, "corruption": name, "severity": severity,
                             "top1": top1, "top5": float((top5 == labels[:, None]).any(1).mean()),
                             "clean_top1": clean_top1, "clean_top5": clean_top5})
                if sparsity == 0:
                    flips.setdefault((name, severity), []).append(top5[:, 0])
        if sparsity == 0:
            flips.setdefault(("clean", 0), []).append(clean[:, 0])
        adv_clean = float((np.load(folder / "adv-clean.npy") == adv_labels).mean())
        for attack in options.attacks:
            for epsilon in options.epsilons:
                top1 = np.load(folder / f"adv-{attack}-{epsilon:g}.npy")
                adv_rows.append({"sparsity": sparsity, "model": index, "attack": attack, "epsilon": epsilon,
                                 "top1": float((top1 == adv_labels).mean()),
                                 "clean_top1": adv_clean})
    corruption = pd.DataFrame(rows)
    corruption["source"] = corruption["corruption"].map(sources)
    corruption["relative_top1"] = corruption["top1"] / corruption["clean_top1"]
    corruption["relative_top5"] = corruption["top5"] / corruption["clean_top5"]
    dense_clean = modal_labels(np.stack(flips.pop(("clean", 0))))
    flip_rate = np.mean([modal_labels(np.stack(p)) != dense_clean for p in flips.values()], axis=0)
    examples = pd.DataFrame({"index": indices, "label": labels, "dense_flip_rate": flip_rate})
    folder = store.robustness_tables_dir(pop_dir, options.key)
    for name, table in zip(CORRUPTION_TABLES, (corruption, pd.DataFrame(adv_rows), examples)):
        store.atomic_write_bytes(folder / f"{name}.csv", table.to_csv(index=False).encode())
    store.save_json(folder / "options.json", dataclasses.asdict(options))
    return folder


def natural_set_dir(settings: Settings) -> Path | None:
    """The dataset's natural distribution-shift set, where the user has it in the data folder:
    ``<data_dir>/CIFAR-10.1`` or ``<data_dir>/imagenet-a``; None otherwise."""
    name = {"cifar10": "CIFAR-10.1", "imagenet": "imagenet-a"}.get(settings.data.dataset)
    folder = Path(settings.data.data_dir) / name if name else None
    return folder if folder is not None and folder.is_dir() else None


def natural_set(folder: Path, data: ImageData) -> tuple[str, np.ndarray, np.ndarray, np.ndarray | None]:
    """Name, images, labels and (for ImageNet-A) the indices of its 200 classes: ImageNet-A is scored both
    on all classes, as the paper's code did, and restricted to its own."""
    if data.name == "cifar10":
        images, labels = load_cifar10_1(folder)
        return "CIFAR-10.1", images, labels, None
    images, labels, present = load_imagenet_a(folder, data.class_names)
    return "ImageNet-A", images, labels, present


@torch.no_grad()
def _logits(model: torch.nn.Module, inputs: torch.Tensor, device: torch.device, batch: int = 128) -> np.ndarray:
    return np.concatenate([model(inputs[s:s + batch].to(device).contiguous(memory_format=torch.channels_last))
                           .float().cpu().numpy() for s in range(0, len(inputs), batch)])


def _evaluate_natural_set(settings: Settings, results_dir: str | Path, options: RobustnessOptions,
                          runs: list[tuple[float, int]], folder: Path, progress: bool) -> None:
    """Top-1/top-5 of every evaluated model on the natural shifted set; an empty table when there is none."""
    pop_dir = store.population_dir(results_dir, settings)
    table_path = folder / "natural_accuracy.csv"
    source = natural_set_dir(settings)
    if source is None:
        if not table_path.is_file():
            store.atomic_write_bytes(table_path, pd.DataFrame(columns=NATURAL_COLUMNS).to_csv(index=False).encode())
        return
    key = f"{options.key}-natural"
    todo = [(s, i) for s, i in runs if not store.run_is_done(store.robustness_dir(store.run_dir(pop_dir, s, i), key))]
    if not todo and table_path.is_file():
        return
    data = load_dataset(settings.data)
    name, images, labels, classes = natural_set(source, data)
    inputs = images_to_input(data.name, images)
    device = resolve_device(settings.training.device)
    for sparsity, index in tqdm(todo, desc=name, unit="model", disable=not progress):
        run = store.run_dir(pop_dir, sparsity, index)
        logits = _logits(load_model(settings, run, data, device), inputs, device)
        payloads = {"top5.npy": store.npy_bytes(np.argsort(-logits, axis=1)[:, :5].astype(np.int16)),
                    "labels.npy": store.npy_bytes(labels)}
        if classes is not None:
            payloads["restricted_top1.npy"] = store.npy_bytes(classes[logits[:, classes].argmax(1)].astype(np.int16))
        store.write_finished(store.robustness_dir(run, key), payloads)
    rows = []
    for sparsity, index in runs:
        stored = store.robustness_dir(store.run_dir(pop_dir, sparsity, index), key)
        top5, truth = np.load(stored / "top5.npy"), np.load(stored / "labels.npy")
        restricted = stored / "restricted_top1.npy"
        rows.append({"set": name, "sparsity": sparsity, "model": index, "top1": float((top5[:, 0] == truth).mean()),
                     "top5": float((top5 == truth[:, None]).any(1).mean()),
                     "top1_restricted": float((np.load(restricted) == truth).mean()) if restricted.is_file() else np.nan})
    store.atomic_write_bytes(table_path, pd.DataFrame(rows, columns=NATURAL_COLUMNS).to_csv(index=False).encode())


def read_robustness_tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(folder / f"{name}.csv") for name in ROBUSTNESS_TABLES}


def per_model_relative(corruption: pd.DataFrame) -> pd.DataFrame:
    """Each model's relative top-1 averaged over corruptions and severities (for the verdict on finding 3)."""
    return corruption.groupby(["sparsity", "model"], as_index=False)["relative_top1"].mean()


def table5(corruption: pd.DataFrame) -> pd.DataFrame:
    """Table 5: mean over models and severities of top-1 (absolute and relative), per corruption and sparsity."""
    per_model = corruption.groupby(["corruption", "sparsity", "model"], as_index=False)[
        ["top1", "top5", "relative_top1", "relative_top5"]].mean()
    return per_model.groupby(["corruption", "sparsity"], as_index=False)[
        ["top1", "top5", "relative_top1", "relative_top5"]].mean()


def pie_flip_test(example_flips: pd.DataFrame, pie: np.ndarray) -> dict:
    """Do PIEs flip more under corruption? Mean dense flip rate of PIEs and non-PIEs in the subsample, and a
    one-sided Mann-Whitney U test (PIEs flip more). ``pie`` is the PIE mask over the whole test set."""
    in_pie = np.asarray(pie, dtype=bool)[example_flips["index"].to_numpy()]
    rates = example_flips["dense_flip_rate"].to_numpy()
    if in_pie.sum() == 0 or (~in_pie).sum() == 0:
        return {"n_pie": int(in_pie.sum()), "n_non_pie": int((~in_pie).sum()), "pie_flip_rate": np.nan,
                "non_pie_flip_rate": np.nan, "u_statistic": np.nan, "p_value": np.nan}
    test = scipy_stats.mannwhitneyu(rates[in_pie], rates[~in_pie], alternative="greater")
    return {"n_pie": int(in_pie.sum()), "n_non_pie": int((~in_pie).sum()),
            "pie_flip_rate": float(rates[in_pie].mean()), "non_pie_flip_rate": float(rates[~in_pie].mean()),
            "u_statistic": float(test.statistic), "p_value": float(test.pvalue)}
