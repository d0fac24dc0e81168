"""Plain numpy pre- and post-processing of the Triton python-backend models (server only; the
client sends encoded frames and never decodes them)."""
