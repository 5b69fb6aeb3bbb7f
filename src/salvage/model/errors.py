"""The Salvage error tree.

Every error a user can see is a :class:`SalvageError`: it says what went wrong and, in
``hint``, what to do next. Third-party errors are translated at the layer boundary and
raised ``from`` the original, so ``--debug`` still shows the root cause.
"""

from __future__ import annotations


class SalvageError(Exception):
    """An error with a message for the user and an optional next step."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UsageError(SalvageError):
    """The user asked for something that cannot be done as asked (bad flag, bad name)."""

    exit_code = 2


class NotFoundError(SalvageError):
    """A named object (cluster, backup, location, ...) does not exist."""


class ToolchainError(SalvageError):
    """A build tool (Go, npm, apt) needed for a component is missing."""


class BuildError(SalvageError):
    """A component failed to build; the message names it and its log."""


class ClusterError(SalvageError):
    """The local cluster could not be started, reached or stopped."""


class KubernetesError(SalvageError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class NotReadyError(SalvageError):
    """Something on the cluster did not reach the state it was waited for in time, or cannot
    reach it by itself (a pod whose image is not on its node)."""


class ServerError(SalvageError):
    """A local test server (S3, Azure Blob, GCS, EC2) could not be installed, started or reached."""


class CloudError(SalvageError):
    """A cloud provider's API (EC2, ...) refused a request, could not be reached, or was asked
    for something the target cannot do (a region, zone or volume type)."""


class CloudCredentialsError(CloudError):
    """No usable cloud credentials were found."""


class SnapshotError(SalvageError):
    """A volume snapshot could not be taken, found ready, or restored."""


class HookError(SalvageError):
    """A consistency hook (a command run in a pod around a snapshot) failed under on-error=fail."""
