"""Every random draw a differentially private release makes, in one place.

Noise comes from OpenDP's samplers only: the discrete Gaussian and discrete Laplace on integer counts, and
report-noisy-max (Gumbel noise, the exponential mechanism) for private choices. They draw from the operating
system's cryptographic generator with exact integer arithmetic, so neither a replayed seed nor the
floating-point artefacts of textbook samplers (Mironov, "On significance of the least significant bits for
differential privacy", CCS 2012) can undo the noise. No function here takes a seed.

Each sampler also returns what OpenDP's own privacy map certifies for one person's change (the unit of
privacy), so the caller adds up the library's figures rather than its own arithmetic.

``post_processing_rng`` is for the randomness that comes after the measurements (rounding, shuffling):
privacy does not depend on it, but it is still seeded from the operating system, so that no release can be
replayed.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np

Ints = np.ndarray[Any, np.dtype[np.int64]]


def _dp() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def described(mechanism: str) -> str:
    """A mechanism's name with the OpenDP version that ran it, for release reports."""
    return f"opendp {version('opendp')} {mechanism}"


def gaussian(counts: Ints, sigma: float) -> tuple[Ints, float]:
    """Counts plus discrete Gaussian noise of scale ``sigma``, and the zCDP rho OpenDP certifies for an L2
    change of 1 (one person added or removed changes one count of a histogram by one)."""
    dp = _dp()
    measurement = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int), scale=sigma)
    rho = float(measurement.map(1))
    flat = measurement([int(v) for v in counts.ravel()])
    return np.asarray(flat, dtype=np.int64).reshape(counts.shape), rho


def laplace(counts: Ints, scale: float) -> tuple[Ints, float]:
    """Counts plus discrete Laplace noise of scale ``scale``, and the pure epsilon OpenDP certifies for an L1
    change of 1."""
    dp = _dp()
    measurement = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale)
    epsilon = float(measurement.map(1))
    flat = measurement([int(v) for v in counts.ravel()])
    return np.asarray(flat, dtype=np.int64).reshape(counts.shape), epsilon


def noisy_max(scores: list[float], epsilon: float) -> tuple[int, float]:
    """Index of the best score chosen by the exponential mechanism at ``epsilon`` (scores of sensitivity 1),
    and the zCDP rho OpenDP certifies for it (epsilon^2 / 8, bounded range: Cesar and Rogers, 2021)."""
    dp = _dp()
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float)
    measurement = dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), scale=2.0 / epsilon)
    return int(measurement([float(s) for s in scores])), float(measurement.map(1.0))


def post_processing_rng() -> np.random.Generator:
    """A generator for what follows the measurements, seeded from the operating system."""
    return np.random.default_rng()
