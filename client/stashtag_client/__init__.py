"""stashtag client: frame sources, Triton transport and tag mapping (light install, no torch)."""

from stashtag_core import __version__

__all__ = ["__version__"]
