"""Figures of the book, drawn from the analysis tables (and images for galleries); each returns a
matplotlib figure and neither trains nor writes results."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib

from pruning_impact.foundations.levels import format_percent

matplotlib.use("Agg")  # figures are saved or shown inline by the notebook; never a window

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from pruning_impact.book.prose import row_label
from pruning_impact.training.pruning import PolynomialDecay

SUBSET_LABELS = {"pie": "PIE$_t$", "non_pie": "non-PIE$_t$", "random": "random sample (|PIE$_t$| images)"}


def set_style() -> None:
    """One style for every figure: white grid, colour-blind palette, sizes readable in print."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "figure.autolayout": False, "axes.titleweight": "bold"})


@contextmanager
def fixed_global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator inside the block and restore its state after it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def schedule_figure(
    begin_step: int,
    end_step: int,
    frequency: int,
    total_steps: int,
    sparsities: Sequence[float],
    power: float = 3.0,
    initial_sparsity: float = 0.0,
):
    """Scheduled sparsity against training step for each final sparsity, mask updates marked."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    steps = np.arange(total_steps + 1)
    for t in sorted(s for s in sparsities if s > 0):
        schedule = PolynomialDecay(initial_sparsity, t, begin_step, end_step, frequency, power)
        ax.plot(steps, [schedule.sparsity_at(s) for s in steps], label=f"t = {format_percent(t)}")
        updates = schedule.update_steps()
        ax.scatter(updates, [schedule.sparsity_at(s) for s in updates], s=10, zorder=3)
    ax.axvspan(begin_step, end_step, color="grey", alpha=0.1, label="pruning window")
    ax.set(
        xlabel="training step", ylabel="sparsity (fraction of weights set to zero)", ylim=(0, 1), xlim=(0, total_steps)
    )
    ax.legend(loc="lower right", fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def accuracy_distributions(model_accuracies: pd.DataFrame, title_suffix: str = ""):
    """Figure 1: the distribution of top-1 and top-5 accuracy over the models of each sparsity."""
    data = model_accuracies.assign(level=model_accuracies["sparsity"].map(format_percent))
    order = [format_percent(s) for s in sorted(model_accuracies["sparsity"].unique())]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ("top1", "top5")):
        sns.boxplot(data=data, x="level", y=metric, order=order, ax=ax, color="white", width=0.5, fliersize=0)
        with fixed_global_seed(0):  # seaborn jitters with numpy's global generator: the same figure every build
            sns.stripplot(
                data=data,
                x="level",
                y=metric,
                order=order,
                ax=ax,
                hue="level",
                hue_order=order,
                size=4,
                jitter=0.15,
                legend=False,
            )
        ax.set(
            xlabel="sparsity t",
            ylabel=f"{metric.replace('top', 'top-')} test accuracy",
            title=f"{metric.replace('top', 'Top-')}{title_suffix}",
        )
    fig.tight_layout()
    return fig


def class_impact_figure(
    class_tests: pd.DataFrame, title: str = "", only_significant: bool = False, max_classes: int = 60
):
    """Figures 3 and 8: normalized recall difference (bars) and absolute recall difference (points) per class.

    Significant classes are drawn solid, the others faded; with many classes only the significant
    ones (at most ``max_classes``, every n-th label shown) are drawn, as in the paper.
    """
    table = class_tests.sort_values("normalized_recall_difference").reset_index(drop=True)
    if only_significant or len(table) > max_classes:
        table = table[table["significant"]].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(table) + 2), 4.2))
    if table.empty:
        ax.text(0.5, 0.5, "no class passes the significance test", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        fig.suptitle(title)
        return fig
    x = np.arange(len(table))
    up, down = sns.color_palette()[0], sns.color_palette()[3]
    for xi, height, significant in zip(x, table["normalized_recall_difference"], table["significant"]):
        ax.bar(xi, height, color=up if height >= 0 else down, alpha=1.0 if significant else 0.3, width=0.75)
    ax.scatter(
        x, table["absolute_recall_difference"], color="black", s=18, zorder=3, label="absolute recall difference"
    )
    ax.axhline(0, color="black", linewidth=0.8)
    step = max(1, len(table) // 40)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(table["class_name"].astype(str)[::step], rotation=60, ha="right", fontsize="small")
    ax.set_ylabel("difference (sparse - dense)")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=sns.color_palette()[0]),
        plt.Rectangle((0, 0), 1, 1, color=sns.color_palette()[3]),
        plt.Rectangle((0, 0), 1, 1, color="grey", alpha=0.3),
        plt.Line2D([], [], marker="o", color="black", linestyle=""),
    ]
    ax.legend(
        handles,
        [
            "normalized recall difference > 0 (significant)",
            "normalized recall difference < 0 (significant)",
            "not significant",
            "absolute recall difference",
        ],
        fontsize="x-small",
        loc="best",
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig


def pie_counts_figure(pie_counts: pd.DataFrame, noise_floor: pd.DataFrame, title: str = ""):
    """PIE counts per sparsity against the dense-vs-dense noise floor (mean and 95% range over splits)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    labels = [format_percent(s) for s in pie_counts["sparsity"]]
    ax.bar(labels, pie_counts["n_pie"], color=sns.color_palette()[0], label="PIE$_t$: dense vs t-sparse")
    if len(noise_floor):
        low, high = np.percentile(noise_floor["n_pie"], [2.5, 97.5])
        ax.axhspan(low, high, color="grey", alpha=0.25, label="dense vs dense (95% of splits)")
        ax.axhline(
            noise_floor["n_pie"].mean(), color="black", linestyle="--", linewidth=1, label="dense vs dense (mean)"
        )
    ax.set(xlabel="sparsity t", ylabel="number of PIEs", title=title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def pie_evaluation_figure(
    evaluation: pd.DataFrame, scorers: Sequence[str], floor: pd.DataFrame | None = None, title: str = ""
):
    """Figures 4 and 10: top-1 on PIE_t, non-PIE_t and random samples, against the t PIEs were found at.

    One panel per scoring group (``scorers``, the ``scorer`` names of ``pie.pie_evaluation``); bands are the
    95% intervals. PIE points are filled where the group is held out from PIE_t's definition and hollow
    where its models chose PIE_t. With ``floor`` (the noise-floor table with ``held_out_top1``), the
    held-out dense panel also shows its accuracy on dense-vs-dense disagreement sets.
    """
    fig, axes = plt.subplots(1, len(scorers), figsize=(4.2 * len(scorers), 3.8), sharey=True, squeeze=False)
    palette = dict(zip(SUBSET_LABELS, sns.color_palette("colorblind", 3)))
    for ax, scorer in zip(axes[0], scorers):
        part = evaluation[evaluation["scorer"] == scorer]
        for subset, label in SUBSET_LABELS.items():
            rows = part[part["subset"] == subset].sort_values("pie_sparsity")
            if rows.empty:
                continue
            x = [format_percent(s) for s in rows["pie_sparsity"]]
            ax.plot(x, rows["top1_mean"], color=palette[subset], label=label)
            held = (rows["role"] == "held-out").to_numpy()
            for mask, face in ((held, palette[subset]), (~held, "white")):
                ax.scatter(
                    np.array(x)[mask],
                    rows["top1_mean"].to_numpy()[mask],
                    color=palette[subset],
                    facecolor=face,
                    zorder=3,
                )
            ax.fill_between(x, rows["ci_low"], rows["ci_high"], color=palette[subset], alpha=0.2)
        if floor is not None and scorer == "dense held-out" and floor["held_out_top1"].notna().any():
            values = floor["held_out_top1"].dropna()
            low, high = np.percentile(values, [2.5, 97.5])
            ax.axhspan(low, high, color="grey", alpha=0.25)
            ax.axhline(values.mean(), color="black", linestyle="--", linewidth=1, label="dense-vs-dense sets")
        roles = set(part["role"])
        kind = (
            "chose every PIE_t"
            if roles == {"defining"}
            else "held out"
            if roles == {"held-out"}
            else "hollow: chose it"
        )
        ax.set(xlabel="PIE$_t$ identified at sparsity t", title=f"{scorer} ({kind})", ylim=(0, 1.02))
    axes[0][0].set_ylabel("top-1 accuracy")
    axes[0][-1].legend(fontsize="small", loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_gallery(images: np.ndarray, captions: Sequence[str], columns: int = 8, title: str = ""):
    """A grid of test images with a caption under each."""
    rows = max(1, int(np.ceil(len(images) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(1.45 * columns, 1.75 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, image, caption in zip(axes.flat, images, captions):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(caption, fontsize=6.5)
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig


def exemplar_gallery(images: np.ndarray, rows: pd.DataFrame, class_names: Sequence[str], columns: int = 8):
    """A gallery of test images captioned with their true label and the dense and sparse modal labels
    (``rows`` as from ``pie.sample_exemplars``)."""
    captions = [
        f"true: {class_names[label]}\ndense: {class_names[dense]}\nsparse: {class_names[sparse]}"
        for label, dense, sparse in zip(rows["label"], rows["dense_modal"], rows["modal"])
    ]
    return image_gallery(images, captions, columns)


def robustness_figure(table5: pd.DataFrame, adversarial: pd.DataFrame, title: str = ""):
    """Figure 7: top-1 under corruption relative to clean top-1, per corruption (left), and top-1 under
    FGSM and PGD attacks (right, mean and std over models), against sparsity."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1.3, 1]})
    names = sorted(table5["corruption"].unique())
    palette = sns.color_palette("husl", len(names))
    for color, name in zip(palette, names):
        rows = table5[table5["corruption"] == name].sort_values("sparsity")
        axes[0].plot(
            rows["sparsity"] * 100,
            rows["relative_top1"],
            marker="o",
            markersize=3,
            color=color,
            label=name.replace("_", " "),
        )
    axes[0].set(
        xlabel="sparsity t (%)",
        ylabel="top-1 under corruption / clean top-1",
        title="Corruptions (mean over severities and models)",
    )
    axes[0].legend(fontsize="x-small", ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    summary = adversarial.groupby(["attack", "epsilon", "sparsity"])["top1"].agg(["mean", "std"]).reset_index()
    for (attack, epsilon), rows in summary.groupby(["attack", "epsilon"]):
        axes[1].errorbar(
            rows["sparsity"] * 100,
            rows["mean"],
            yerr=rows["std"].fillna(0),
            marker="o",
            markersize=3,
            capsize=2,
            linestyle="-" if attack == "pgd" else "--",
            label=f"{attack.upper()} eps={epsilon:g}",
        )
    axes[1].set(xlabel="sparsity t (%)", ylabel="top-1 under attack", title="Adversarial examples", ylim=(0, 1))
    axes[1].legend(fontsize="x-small", ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def natural_shift_figure(relative: pd.DataFrame, title: str = ""):
    """Figure 7 (left): top-1 and top-5 on a natural distribution-shift set (ImageNet-A, CIFAR-10.1) relative
    to clean accuracy, against sparsity: the mean over the models of each sparsity and its 95% t-interval.
    ``relative`` is ``robustness.tables.natural_relative``'s table (sparsity, model, set, relative_top1,
    relative_top5)."""
    from scipy import stats as scipy_stats

    fig, ax = plt.subplots(figsize=(6.5, 4))
    if relative.empty:
        ax.text(0.5, 0.5, "no natural distribution-shift set", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        fig.suptitle(title)
        return fig
    sets = sorted(relative["set"].unique())
    palette = sns.color_palette("colorblind", 2)
    for set_name in sets:
        part = relative[relative["set"] == set_name]
        for color, metric in zip(palette, ("relative_top1", "relative_top5")):
            summary = part.groupby("sparsity")[metric].agg(["mean", "sem", "count"]).sort_index()
            half = summary["sem"].fillna(0) * scipy_stats.t.ppf(0.975, np.maximum(summary["count"] - 1, 1))
            x = summary.index.to_numpy() * 100
            name = metric.replace("relative_top", "top-")
            label = name if len(sets) == 1 else f"{set_name} {name}"
            ax.plot(x, summary["mean"], marker="o", markersize=4, color=color, label=label)
            ax.fill_between(x, summary["mean"] - half, summary["mean"] + half, color=color, alpha=0.2)
    ax.set(
        xlabel="sparsity t (%)",
        ylabel="accuracy on the set / clean accuracy",
        title=title or f"{' and '.join(sets)} (mean and 95% interval over models)",
    )
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def methods_class_figure(class_effects: pd.DataFrame, correction: str = "none"):
    """Normalized recall difference of each class (columns) under each method (rows), significant cells
    marked: which classes each method hurts or helps, against the same dense reference."""
    tests = class_effects[class_effects["correction"] == correction].copy()
    tests["row"] = [row_label(m, n) for m, n in zip(tests["method"], tests["level_name"])]
    order = list(dict.fromkeys(tests["row"]))
    values = tests.pivot(index="row", columns="class_name", values="normalized_recall_difference").loc[order]
    marks = tests.pivot(index="row", columns="class_name", values="significant").loc[order]
    values, marks = values[list(dict.fromkeys(tests["class_name"]))], marks[list(dict.fromkeys(tests["class_name"]))]
    limit = float(np.nanmax(np.abs(values.to_numpy()))) or 1.0
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * values.shape[1] + 2.5), 0.55 * len(order) + 1.8))
    sns.heatmap(
        values,
        ax=ax,
        cmap="RdBu",
        vmin=-limit,
        vmax=limit,
        annot=np.where(marks.to_numpy().astype(bool), "*", ""),
        fmt="",
        cbar_kws={"label": "normalized recall difference"},
        linewidths=0.5,
    )
    ax.set(xlabel="class", ylabel="")
    ax.tick_params(axis="x", rotation=45)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    return fig


def methods_measures_figure(levels: pd.DataFrame):
    """Per method: exemplars (CIEs) found against the dense reference, and CEV and SDE, each beside its
    dense-vs-dense noise floor (dashed: mean; shaded up to the 97.5th percentile)."""
    labels = [row_label(m, n) for m, n in zip(levels["method"], levels["level_name"])]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    panels = (
        ("n_cie", "cie_floor_mean", "cie_floor_p975", "exemplars (modal label changed)", False),
        ("cev", "cev_floor_mean", "cev_floor_p975", "combined error variance (CEV)", True),
        ("sde", "sde_floor_mean", "sde_floor_p975", "symmetric distance error (SDE)", True),
    )
    for ax, (column, mean, high, title, log) in zip(axes, panels):
        ax.bar(range(len(levels)), levels[column], color=sns.color_palette()[: len(levels)])
        ax.axhline(levels[mean].iloc[0], color="black", linestyle="--", linewidth=1)
        ax.axhspan(0, levels[high].iloc[0], color="grey", alpha=0.2)
        ax.set_xticks(range(len(levels)), labels, rotation=35, ha="right")
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
    fig.tight_layout()
    return fig


def taxicab_figure(scores: pd.DataFrame, column: str, member_column: str, vog_column: str | None = None):
    """The taxicab score of every test image, for the images whose modal label changed and for the others
    (left); with VoG, its distribution for the same two groups (right)."""
    members = scores[member_column].astype(bool)
    panels = [(column, "taxicab distance between label distributions")]
    if vog_column is not None and vog_column in scores:
        panels.append((vog_column, "VoG (standardised within class)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.6), squeeze=False)
    for ax, (name, xlabel) in zip(axes[0], panels):
        bins = np.linspace(scores[name].min(), scores[name].max(), 30)
        ax.hist(scores.loc[~members, name], bins=bins, density=True, alpha=0.6, label="modal label kept")
        ax.hist(scores.loc[members, name], bins=bins, density=True, alpha=0.6, label="modal label changed")
        ax.set(xlabel=xlabel, ylabel="density")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def annotation_figure(properties: pd.DataFrame, paper: pd.DataFrame | None = None, title: str = ""):
    """Each property's share among PIEs and non-PIEs with its confidence interval (``agreement.property_table``),
    and the paper's ImageNet shares as open markers where given (Figure 5)."""
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(properties) + 2.0))
    palette = sns.color_palette("colorblind")
    rows = np.arange(len(properties))
    for offset, (part, name, colour) in enumerate((("pie", "PIE", palette[3]), ("non_pie", "non-PIE", palette[0]))):
        y = rows + (0.15 if offset == 0 else -0.15)
        share = properties[f"share_{part}"].to_numpy()
        error = np.clip(np.stack([share - properties[f"low_{part}"], properties[f"high_{part}"] - share]), 0, None)
        ax.errorbar(share, y, xerr=error, fmt="o", color=colour, capsize=3, label=f"{name} (this study)")
        if paper is not None:
            reported = properties["property"].map(paper.set_index("property")[f"share_{part}"])
            ax.scatter(
                reported, y, marker="D", facecolors="none", edgecolors=colour, s=45, label=f"{name} (paper, ImageNet)"
            )
    ax.set_yticks(rows, properties["property"])
    ax.invert_yaxis()
    ax.set(xlabel="share of images with the property", xlim=(-0.02, 1.02), title=title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small", frameon=False)
    fig.tight_layout()
    return fig


def forest_plot(table: pd.DataFrame, title: str = ""):
    """The paper beside this book on common scales (``paper_vs_book.comparable_quantities``'s table): one
    panel per quantity, one row per sparsity. A source named "... (paper)" has no interval and is drawn as
    open markers; any other source as points with their interval where one is given."""
    import textwrap

    from matplotlib.ticker import PercentFormatter

    quantities, sources = list(dict.fromkeys(table["quantity"])), list(dict.fromkeys(table["source"]))
    colours = dict(zip(sources, sns.color_palette("colorblind", len(sources))))
    offsets = dict(zip(sources, np.linspace(-0.25, 0.25, len(sources)) if len(sources) > 1 else [0.0]))
    paper_markers = iter(("D", "s", "^", "v"))
    markers = {source: next(paper_markers) if source.endswith("(paper)") else "o" for source in sources}
    fig, axes = plt.subplots(1, len(quantities), figsize=(4.2 * len(quantities), 4.2), squeeze=False)
    for ax, quantity in zip(axes[0], quantities):
        part = table[table["quantity"] == quantity]
        levels = sorted(part["sparsity"].unique())
        ax.axvline(0, color="grey", linewidth=0.8)
        for source, rows in part.groupby("source", sort=False):
            y = rows["sparsity"].map({t: i for i, t in enumerate(levels)}).to_numpy() + offsets[source]
            value, low, high = (rows[c].to_numpy() for c in ("value", "ci_low", "ci_high"))
            if markers[source] != "o":
                ax.scatter(
                    value, y, marker=markers[source], facecolors="none", edgecolors=colours[source], label=source
                )
                continue
            has = np.isfinite(low) & np.isfinite(high)
            if has.any():
                error = np.stack([value[has] - low[has], high[has] - value[has]])
                ax.errorbar(value[has], y[has], xerr=error, fmt="o", color=colours[source], capsize=3, label=source)
            if (~has).any():
                ax.scatter(value[~has], y[~has], marker="o", color=colours[source], label=source)
        ax.set_yticks(range(len(levels)), [format_percent(t) for t in levels])
        ax.set_ylim(len(levels) - 0.5, -0.5)  # the lowest sparsity on top
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.set_title(textwrap.fill(quantity, 34), fontsize=9)
    axes[0][0].set_ylabel("sparsity t")
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
