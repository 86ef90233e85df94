"""How a level is written. A level is a sparsity in [0, 1) or, for a quantized population, a bit width
(16.0, 8.0): folder names and messages write a sparsity with two decimals ('0.90'), the book as the paper
does ('90%'), and tables and figures name a bit width by its number type ('int8')."""

from __future__ import annotations


def format_percent(sparsity: float) -> str:
    """A sparsity as the paper writes it: 0.9 -> '90%', 0.975 -> '97.5%'; a quantized level (a bit width) as
    '8-bit'."""
    return format_level(sparsity) if sparsity >= 1 else f"{100 * sparsity:.4g}%"


def format_level(level: float) -> str:
    """A level in messages: a sparsity as ``format_sparsity`` writes it, a bit width as '8-bit'."""
    return f"{int(level)}-bit" if level >= 1 else format_sparsity(level)


def format_sparsity(sparsity: float) -> str:
    """0.9 -> '0.90'; more digits only when they matter (0.975 -> '0.975')."""
    text = f"{sparsity:.2f}"
    return text if abs(float(text) - sparsity) < 1e-12 else f"{sparsity:.6g}"


BIT_NAMES = {16: "fp16", 8: "int8"}


def level_name(level: float) -> str:
    """A level as the tables and figures write it: a sparsity as a percentage ('90%'), a bit width by its
    number type ('int8', 'fp16')."""
    return BIT_NAMES.get(int(level), f"{int(level)}-bit") if level >= 1 else format_percent(level)
