"""Measure the disparate impact of model pruning (Hooker et al., "Selective Brain Damage").

The package has a folder per stage of the pipeline, each importing only from those below it, as the import
contracts in ``pyproject.toml`` state and ``lint-imports`` checks:

``cli`` > ``book`` > ``study`` | ``verdicts`` > ``robustness`` > ``analysis`` > ``training`` > ``foundations``

A population is trained (``training``) into the results store (``foundations.store``), analysed
(``analysis``) and evaluated for robustness (``robustness``); the paper's claims are judged on its tables
(``verdicts``), the annotation study and the exemplar browser look at its PIEs (``study``), and the book's
notebooks read it all and draw (``book``).
"""

__version__ = "0.1.0"
