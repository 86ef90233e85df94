"""The paper's analysis of a population's predictions: class-level tests (``stats``), Pruning Identified
Exemplars and their noise floors (``pie``), the follow-up literature's disparity measures (``disparity``,
``vog``), a stored population in memory (``predictions``), the analysis run with its cached tables
(``run``) and the comparison of compression methods (``method_comparison``). ``stats``, ``pie``,
``disparity``, ``predictions`` and ``run`` never import torch: they work on predictions from anywhere.
"""
