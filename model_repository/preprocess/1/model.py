"""Triton python-backend entry of model `preprocess`.

The code lives in stashtag.serving.preprocess_model.
"""

from stashtag.serving.preprocess_model import TritonPythonModel  # noqa: F401
