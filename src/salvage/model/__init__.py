"""Typed records and pure rules shared by every layer: requests, results, errors, retention
periods. No I/O here."""
