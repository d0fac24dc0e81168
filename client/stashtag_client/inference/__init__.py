"""Talking to Triton: endpoints, retries and in-flight limits, and the scene-by-scene tag run."""
