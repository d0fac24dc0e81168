"""Frame sources: Stash sprite sheets + VTT, video files and images, as encoded frames to send."""
