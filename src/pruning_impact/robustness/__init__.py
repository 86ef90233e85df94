"""Robustness of a population (the paper's Section 3.3): image corruptions (``corruptions``) and attacks
(``attacks``), the distribution-shifted test sets they make or the published ones (``shifted_sets``), every
model evaluated on them (``evaluation``) and the tables made from its per-example predictions (``tables``).
"""
