"""The bundled demo: synthetic sample sprites, videos and watermarked stills, and the demo run."""
