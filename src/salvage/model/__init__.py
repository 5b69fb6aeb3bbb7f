"""Typed records and pure rules shared by every layer: the error tree (errors.py), cloud and
mover settings (cloud_settings.py, mover.py), durations and retention periods. The engines' requests
and results live with their engines. No I/O here."""
