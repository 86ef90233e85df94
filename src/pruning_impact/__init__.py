"""Measure the disparate impact of model pruning (Hooker et al., "Selective Brain Damage").

The pipeline, one module per step: ``settings``/``profiles`` -> ``data``, ``models``,
``pruning`` -> ``train`` -> ``population`` (through ``store``) -> analysis.
"""

__version__ = "0.1.0"
