"""Object-store adapters behind one Protocol (:class:`salvage.storage.base.Store`).

Providers: ``memory`` (tests), ``local`` (a directory), and ``s3``/``azure``/``gcs``
through obstore. This is the only package that imports an object-store SDK; callers see
keys, bytes and :mod:`salvage.storage.errors`, never an SDK type.
"""
