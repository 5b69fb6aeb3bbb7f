"""Typed records shared by every layer: requests, results, errors. No I/O here."""
