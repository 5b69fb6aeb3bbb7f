"""Backups on a location: the layout of their objects, writing them once, reading and
verifying them. Specified in docs/FORMAT.md ("Backups"). Only ``layout`` knows keys.

Invariants: a backup's objects are written once and never rewritten; the manifest, which
holds the SHA-256 of every other object, is written last, so a backup without a manifest
is incomplete; readers verify checksums before anything is restored and refuse format
versions they do not know.
"""
