"""Sentences the chapters print, computed from the tables so that no result in the book is typed by hand:
the comparison of compression methods (``*_sentence`` of the methods chapter, ``row_label``), the
annotation study (``differ_sentence``) and where the book was built (``build_sentence``). Each is glued into
the prose by its notebook."""

from __future__ import annotations

import pandas as pd

from pruning_impact.analysis.method_comparison import NO_COMPRESSION, SECOND_DENSE


def row_label(method: str, level_name: str) -> str:
    """How a row of the comparison is named in figures and prose: 'random 90%', 'quantize-int8'."""
    return method if method.startswith("quantize") or level_name == "dense" else f"{method} {level_name}"


def random_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """Random against magnitude pruning, class by class, beside the same reading with nothing compressed."""
    levels = tables["levels"].set_index("method")
    correlation = tables["class_agreement"].set_index("method")
    if "random" not in correlation.index:
        return "Random pruning is not among the methods compared here (parameter methods)."
    r = correlation.loc["random"]
    return (
        f"Random pruning at the same sparsity changes {int(levels.loc['random', 'n_significant_none'])}. Across "
        f"classes, the per-class differences of random and magnitude pruning correlate at r = {r['correlation']:.2f}, "
        f"and {int(r['n_same_direction'])} classes are significant for both in the same direction. Every row is "
        "measured against the same reference, whose own noise they share: the 'none' row's differences correlate "
        f"with magnitude pruning's at r = {correlation.loc[NO_COMPRESSION, 'correlation']:.2f}, the value to read "
        "the other against."
    )


def overlap_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """The overlap of magnitude and random pruning's sets, beside that of two sets made without compression."""
    overlap = tables["overlap"]
    floor = overlap[overlap["method_b"] == SECOND_DENSE]
    pair = overlap[(overlap["method_a"] == "magnitude") & (overlap["method_b"] == "random")]
    if len(floor):
        parts = [
            "Two sets no compression made (the 'none' row's and that of a second, disjoint group of dense models, "
            f"both against the reference) have a Jaccard index of {floor['jaccard'].iloc[0]:.3f}: the floor."
        ]
    else:
        parts = ["This population has too few dense models for a second dense group, so the overlap has no floor."]
    if len(pair):
        parts.append(f"Magnitude and random pruning's sets have a Jaccard index of {pair['jaccard'].iloc[0]:.3f}.")
    return " ".join(parts)


def shared_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """The images every pruning method finds, scored by the held-out models, beside the no-compression floor."""
    shared = tables["shared"].set_index("images")
    every = shared.iloc[0]
    sentence = (
        f"{int(every['n'])} images are exemplars of every pruning method "
        f"({every['expected_if_independent']:.1f} expected if the sets were independent); the held-out dense "
        f"models, which defined none of these sets, score {100 * every['held_out_top1']:.1f}% on them, against "
        f"{100 * shared.loc['all test images', 'held_out_top1']:.1f}% on the whole test set."
    )
    if "in both sets made without compression" in shared.index:
        floor = shared.loc["in both sets made without compression"]
        sentence += (
            f" The floor: the two sets made without compression (the partners' and a second dense group's) share "
            f"{int(floor['n'])} images ({floor['expected_if_independent']:.1f} expected), on which the held-out "
            f"models score {100 * floor['held_out_top1']:.1f}%."
        )
    return sentence


def vog_sentence(tables: dict[str, pd.DataFrame]) -> str:
    """How VoG ranks each row's exemplars (AUC, and its direction), or why it is not computed."""
    if "vog" not in tables["scores"]:
        return (
            "No held-out dense model of this population keeps two or more checkpoints (training.checkpoints), so "
            "VoG is not computed here."
        )
    levels = tables["levels"]
    magnitude = levels[levels["method"] == "magnitude"].iloc[0]
    none = levels[levels["method"] == NO_COMPRESSION].iloc[0]
    vog_auc = magnitude["vog_auc_cie"]
    direction = (
        "higher VoG than the other images of their class"
        if vog_auc > 0.5
        else "lower VoG than the other images of their class, the opposite of what makes VoG a difficulty score"
    )
    others = ", ".join(
        f"{row_label(r.method, r.level_name)} {r.vog_auc_cie:.3f}"
        for r in levels.itertuples()
        if r.method not in ("magnitude", NO_COMPRESSION)
    )
    return (
        f"From the checkpoints of held-out dense models, VoG ranks magnitude pruning's exemplars with an AUC of "
        f"{vog_auc:.3f} (Mann-Whitney p = {magnitude['vog_p']:.2g}): they tend to have {direction} (right panel). "
        f"The other rows: {others}; the 'none' row, images two dense groups disagree on: {none['vog_auc_cie']:.3f}."
    )


def differ_sentence(table: pd.DataFrame, alpha: float = 0.05) -> str:
    """Which properties of ``property_table`` differ between PIEs and non-PIEs at Holm-adjusted ``alpha``, and
    in which direction, as a phrase for the prose."""
    found = table[table["p_holm"] < alpha]
    level = f"at the Holm-adjusted {100 * alpha:g}% level"
    if found.empty:
        return f"none of the {len(table)} properties differs between PIEs and non-PIEs {level}"
    parts = [
        f"{row.property} ({'more' if row.share_pie > row.share_non_pie else 'less'} common among PIEs)"
        for row in found.itertuples()
    ]
    verb = "differs" if len(found) == 1 else "differ"
    return f"{len(found)} of the {len(table)} properties {verb} between PIEs and non-PIEs {level}: {', '.join(parts)}"


NO_BUILD_SENTENCE = "no recorded build (no build of the book recorded its times for these models)"


def build_sentence(record: dict, setup_note: bool) -> str:
    """Where and when a build ran, and how many models it trained."""
    cpu = record["machine"]
    # records written before the Ray executor name the worker processes only
    where = record.get("executor") or f"{record['workers']} worker process{'es' if record['workers'] != 1 else ''}"
    sentence = (
        f"{record['date']}, on {cpu['processor']} ({cpu['cores']} cores; instruction sets: "
        f"{', '.join(cpu['speed_flags']) or 'none listed'}), with {where}, training in "
        f"{record['precision']}; it trained "
        f"{record['models_trained']} of the population's {record['models']} models"
    )
    if setup_note and record.get("setup_seconds") is None:
        sentence += " (it was not started by `make book`, so its setup was not timed)"
    return sentence
