"""Plain numpy pre- and post-processing, shared by the Triton models and the client."""
