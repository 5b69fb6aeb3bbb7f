"""The cluster adapter: the only package that talks HTTP to a Kubernetes API server.

Objects travel as raw JSON dicts, exactly as the server returned them; nothing here
round-trips resources through typed models that could drop fields. Errors from the
server become :class:`salvage.model.errors.KubernetesError` carrying the HTTP status.
"""
