"""Training populations of models: datasets (``images``, ``datasets``), networks (``models``), gradual
magnitude pruning (``pruning``) and the other compression methods (``compression``), one model from its
settings and seed (``train``) or several at once (``grouped``), prediction (``inference``), a whole
population in the results store (``population``) and the other methods' populations (``variants``).
"""
