"""Show an engine's progress: a live rich display on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from salvage.cli.output import Terminal
from salvage.model.progress import (
    Event,
    Item,
    Logged,
    ResourceDone,
    Step,
    VolumeBytes,
    VolumeDigest,
    VolumeMoved,
    VolumeState,
)


class ProgressView:
    """A context manager whose ``update`` is an engine's progress callback."""

    def __init__(self, terminal: Terminal, title: str, total: int | None = None) -> None:
        self.terminal = terminal
        self.title = title
        self.total = total
        self.count = 0
        self._rich: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> ProgressView:
        if self.terminal.interactive:
            self._rich = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=self.terminal.err,
                                  transient=True)
            self._rich.__enter__()
            self._task = self._rich.add_task(self.title, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.__exit__(None, None, None)

    def update(self, event: Event) -> None:
        """An engine's progress callback: one line (or a tick of the bar) per event shown."""
        match event:
            case ResourceDone(resource, int(count)):
                self.count += count
                self._say(f"{resource}: {count}", advance=count)
            case Item(resource, namespace, name, "failed", reason):
                self.count += 1
                self._say(f"failed {resource} {namespace or ''}/{name}: {reason}", advance=1, always=True)
            case Item():
                self.count += 1
                self._advance(1)
            case VolumeState(pvc, state):
                self._say(f"volume {pvc}: {state}")
            case VolumeBytes() | VolumeMoved():
                self._say(_mover_line(event))
            case Step(message):
                self._say(message)
            case VolumeDigest(namespace, pvc, _recorded, _restored, matches, differences):
                same = "matches the backup's" if matches else "DIFFERS: " + "; ".join(differences)
                self._say(f"volume {namespace}/{pvc}: tree digest {same}", always=not matches)
            case Logged("warning" | "error" as level, message):
                self._say(f"{level}: {message}", always=True)

    def say(self, text: str) -> None:
        """Narration: always shown (above the live display on a terminal)."""
        self._say(text, always=True)

    def _advance(self, n: int) -> None:
        if self._rich is not None:
            self._rich.update(self._task, advance=n)

    def _say(self, text: str, *, advance: int = 0, always: bool = False) -> None:
        if self._rich is not None:
            self._rich.update(self._task, advance=advance, description=f"{self.title}: {text}"[:80])
            if always:
                self._rich.console.print(text, markup=False)
        else:
            self.terminal.info(text)


def _mover_line(event: VolumeBytes | VolumeMoved) -> str:
    """A data-mover pod's progress: ``volume ns/claim: backup 12/40 files, 3.1 MiB at 1.0 MiB/s``,
    and its end: ``volume ns/claim: backup done in 4.2s by pod P, peak memory 97.0 MiB``."""
    if isinstance(event, VolumeMoved):
        return (f"volume {event.pvc}: {event.action} done in {event.seconds}s by pod {event.pod}, "
                f"peak memory {_mib(event.max_rss_bytes)}")
    files = f"{event.files}/{event.files_total if event.files_total is not None else '?'}"
    return (f"volume {event.pvc}: {event.action} {files} files, {_mib(event.bytes)} "
            f"at {_mib(event.bytes_per_second)}/s")


def _mib(value: Any) -> str:
    return f"{int(value or 0) / 2**20:.1f} MiB"
