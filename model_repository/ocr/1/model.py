"""Triton python-backend entry of model `ocr`.

The code lives in stashtag.serving.ocr_model.
"""

from stashtag.serving.ocr_model import TritonPythonModel  # noqa: F401
