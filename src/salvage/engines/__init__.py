"""Engines: backup and restore (and, later, statefulset recovery), called by both front
doors with typed requests. Engines never print; they report through a progress callback."""
