"""Triton python-backend models.

Imported only inside Triton: they need ``triton_python_backend_utils``.
"""
