"""Triton python-backend entry of model `yolo_post`.

The code lives in stashtag.serving.yolo_post_model.
"""

from stashtag.serving.yolo_post_model import TritonPythonModel  # noqa: F401
