"""Show an engine's progress: a live rich display on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from salvage.cli.output import Terminal


class ProgressView:
    """A context manager whose ``update(kind, data)`` is an engine's progress callback."""

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

    def update(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "resource" and "count" in data:
            self.count += int(data["count"])
            self._say(f"{data['resource']}: {data['count']}", advance=int(data["count"]))
        elif kind == "item":
            self.count += 1
            if data["action"] == "failed":
                self._say(f"failed {data['resource']} {data['namespace'] or ''}/{data['name']}: {data['reason']}",
                          advance=1, always=True)
            else:
                self._advance(1)
        elif kind == "volume":
            self._say(f"volume {data['pvc']}: {data['state']}")
        elif kind == "mover":
            self._say(_mover_line(data))
        elif kind == "phase":
            self._say(data["message"])
        elif kind == "volume-digest":
            same = "matches the backup's" if data["matches"] else "DIFFERS: " + "; ".join(data["differences"])
            self._say(f"volume {data['namespace']}/{data['pvc']}: tree digest {same}", always=not data["matches"])
        elif kind == "log" and data["level"] in ("warning", "error"):
            self._say(f"{data['level']}: {data['message']}", always=True)

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


def _mover_line(data: dict[str, Any]) -> str:
    """A data-mover pod's progress: ``volume ns/claim: backup 12/40 files, 3.1 MiB at 1.0 MiB/s``,
    and its end: ``volume ns/claim: backup done in 4.2s by pod P, peak memory 97.0 MiB``."""
    if data.get("event") == "result":
        return (f"volume {data['pvc']}: {data.get('action')} done in {data.get('seconds')}s by pod {data.get('pod')}, "
                f"peak memory {_mib(data.get('max_rss_bytes'))}")
    files = f"{data.get('files', 0)}/{data.get('files_total') if data.get('files_total') is not None else '?'}"
    return (f"volume {data['pvc']}: {data.get('action')} {files} files, {_mib(data.get('bytes'))} "
            f"at {_mib(data.get('bytes_per_second'))}/s")


def _mib(value: Any) -> str:
    return f"{int(value or 0) / 2**20:.1f} MiB"
