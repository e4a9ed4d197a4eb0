"""LAV control path: embeddings + music features → w (mapping) → per-group smoothed ws → frame times."""
