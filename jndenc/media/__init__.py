"""Media I/O: probing, decoding, shot detection, quality metrics and every FFmpeg command line."""
