"""Every command of the tree made the same way, wherever its group defines it: kubectl-like
help pages (salvage.cli.help) and the global options after the verb
(salvage.cli.global_options)."""

from __future__ import annotations

import typer

from salvage.cli.global_options import with_global_options
from salvage.cli.help import SalvageCommand, SalvageGroup


def adopt(group: typer.Typer) -> typer.Typer:
    """Give ``group``'s commands, and those of the groups under it, our help and options."""
    group.info.cls = SalvageGroup
    for info in group.registered_commands:
        info.cls = SalvageCommand
        if info.callback is not None:
            info.callback = with_global_options(info.callback)
    for sub in group.registered_groups:
        sub.cls = SalvageGroup
        if sub.typer_instance is not None:
            adopt(sub.typer_instance)
    return group
