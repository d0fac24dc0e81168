"""stashtag: tag Stash video libraries with CLIP, YOLOv8, PP-OCR and DINOv2 served by Triton."""

from stashtag_core import __version__

__all__ = ["__version__"]
