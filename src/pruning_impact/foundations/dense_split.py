"""What each dense model is for, by its position in the dense population: the one split every stage uses.

With D dense models and groups of K (the sparse population's K, or a comparison's K), in order:

- the *reference* (models 0..K-1) is the dense side of every comparison: it defines every PIE set and
  every class test;
- its *partners* (K..2K-1) are the reference's twin: a quantized model is a partner converted, and a
  "no compression" row compares the partners with the reference;
- the *floor pool* (the first 2K) is split at random into two groups of K, again and again, for every
  noise floor at the sparse populations' size;
- the *held-out* models (after the floor pool) define nothing, so they may score every set the others
  chose. A comparison that also wants a second dense set takes the first K of them as a *second group*
  (when more than K are held out), and scores with the rest.

With fewer than 2K dense models there are no partners: the reference and the floor pool are all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


def partnered_size(k: int) -> int:
    """Dense models that a reference of K and its K partners take: 2K."""
    return 2 * k


def largest_partnered_k(dense: int) -> int:
    """The largest K whose reference and partners fit in ``dense`` dense models."""
    return dense // 2


@dataclass(frozen=True)
class DenseSplit:
    """The split of ``dense`` dense models for groups of ``k``: slices into the dense population's models."""

    dense: int  # dense models in the population
    k: int  # models per group: the sparse population's K, or a comparison's

    @property
    def has_partners(self) -> bool:
        """Whether the reference has partners: at least 2K dense models (quantization and comparisons need them)."""
        return self.dense >= partnered_size(self.k)

    def partners_problem(self, what: str) -> str | None:
        """Why ``what`` (which needs the reference's partners) cannot be done here, or None when it can."""
        if self.has_partners:
            return None
        return (
            f"{what} needs the reference and its partners: at least 2K = {partnered_size(self.k)} dense models "
            f"for K = {self.k}, not {self.dense}"
        )

    @property
    def reference(self) -> slice:
        """The dense models every comparison is made against: K, or all of them without partners."""
        return slice(0, self.k if self.has_partners else self.dense)

    @property
    def outside_reference(self) -> slice:
        """Every dense model after the reference (the partners, the rest of the floor pool, the held-out)."""
        return slice(self.reference.stop, self.dense)

    @property
    def partners(self) -> slice:
        """The reference's partners, models K..2K-1 (empty without them)."""
        return slice(self.k, partnered_size(self.k)) if self.has_partners else slice(0, 0)

    @property
    def floor_pool(self) -> slice:
        """The models whose random splits into two groups give every noise floor (the reference among them)."""
        return slice(0, partnered_size(self.k) if self.has_partners else self.dense)

    @property
    def held_out(self) -> slice:
        """Dense models after the floor pool: they define nothing and score every set."""
        return slice(self.floor_pool.stop, self.dense)

    @property
    def second_group(self) -> slice | None:
        """K held-out models that define a second dense set, when more than K are held out; else None."""
        if self.dense - self.floor_pool.stop <= self.k:
            return None
        return slice(self.floor_pool.stop, self.floor_pool.stop + self.k)

    @property
    def scorers(self) -> slice:
        """The held-out models that score when a second group is taken out of them."""
        second = self.second_group
        return self.held_out if second is None else slice(second.stop, self.dense)

    def last_held_out(self, n: int) -> slice:
        """The last ``n`` dense models, never from the floor pool."""
        return slice(max(self.floor_pool.stop, self.dense - n), self.dense)
