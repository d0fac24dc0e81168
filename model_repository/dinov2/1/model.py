"""Triton python-backend entry of model `dinov2`.

The code lives in stashtag.serving.onnx_model.
"""

from stashtag.serving.onnx_model import TritonPythonModel  # noqa: F401
