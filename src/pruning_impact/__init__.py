"""Measure the disparate impact of model pruning (Hooker et al., "Selective Brain Damage").

The pipeline, one module per stage, every arrow one way:
``settings``/``profiles`` -> ``data``, ``models``, ``pruning`` -> ``train`` -> ``population`` (runs in
``store``) -> ``analysis`` (``stats``, ``pie``) and ``robustness`` (``robustness_sets``, ``corruptions``,
``attacks``, ``inference`` -> per-example predictions -> ``robustness_tables``) -> tables in ``store`` ->
``book`` (chapters read, ``plots`` draw, ``comparison`` judges) and ``cli``.
"""

__version__ = "0.1.0"
