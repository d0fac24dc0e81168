"""stashtag client: frame sources, Triton transport and tag mapping (light install, no torch)."""
