"""Exporters: CLIP, YOLOv8, DINOv2 and PP-OCR → ONNX (and TensorRT plans) for the repository.

torch and the model frameworks are imported lazily, inside the functions that need them, so
importing ``stashtag_export`` stays cheap and the light client install never pulls torch.
"""
