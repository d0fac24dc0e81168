"""stashtag: tag Stash video libraries with CLIP, YOLOv8, PP-OCR and DINOv2 served by Triton."""

__version__ = "0.2.0"
