"""Engines: the operations both front doors (CLI, operator) call.

They take typed requests and raw Kubernetes objects, talk to the cluster through
:mod:`salvage.k8s`, report progress through a callback, and raise
:class:`salvage.model.errors.SalvageError`; they print nothing themselves.
"""
