"""Triton python-backend entry of model `clip_tokenize`.

The code lives in stashtag.serving.tokenize_model.
"""

from stashtag.serving.tokenize_model import TritonPythonModel  # noqa: F401
