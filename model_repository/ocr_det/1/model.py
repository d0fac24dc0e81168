"""Triton python-backend entry of model `ocr_det`.

The code lives in stashtag.serving.onnx_model.
"""

from stashtag.serving.onnx_model import TritonPythonModel  # noqa: F401
