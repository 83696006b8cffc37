"""The one exception of :mod:`vsrife.weights`."""
from __future__ import annotations

__all__ = ["WeightsError"]


class WeightsError(Exception):
    """A model's weights could not be found, fetched, verified or loaded. The message says why and what to do."""
