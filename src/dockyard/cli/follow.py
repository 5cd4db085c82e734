"""`--follow`: a live status line (spinner, phase, elapsed time) kept below the streamed log
lines of a build or run, until it concludes. Without a terminal only the lines are printed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from rich.console import RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from dockyard.cli.output import out, print_json, styled_status
from dockyard.client import Build, DockyardClient, LogLine, LogSource, Run, tail

Item = TypeVar("Item", bound=Build | Run)
POLL_SECONDS = 1.0


class StatusLine(Generic[Item]):
    """What the build or run is doing now; `read` is called by a background poller."""

    def __init__(self, label: str, item: Item) -> None:
        self.label = label
        self.item = item
        self.started = time.monotonic()
        self.spinner = Spinner("dots", style="cyan")

    def __rich__(self) -> RenderableType:
        elapsed = time.monotonic() - self.started
        text = Text.from_markup(
            f"{self.label}  {styled_status(self.item.status)}{_detail(self.item)}"
        )
        text.append(f"  {_clock(elapsed)}", style="dim")
        self.spinner.update(text=text)
        return self.spinner


def follow(
    api: DockyardClient,
    source: LogSource,
    read: Callable[[], Item],
    label: str,
    as_json: bool,
) -> Item:
    """Stream the logs of `source` until its build or run concludes; the concluded item."""
    if as_json:
        for line in tail(api, source):
            print_json(line.raw())
        return until_concluded(read)
    status = StatusLine(label, read())
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(status, read, stop), daemon=True)
    poller.start()
    try:
        with Live(status, console=out, transient=True, refresh_per_second=8):
            for line in tail(api, source):
                _print_line(line)
    finally:
        stop.set()
    final = until_concluded(read)
    elapsed = _clock(time.monotonic() - status.started)
    out.print(f"{label}  {styled_status(final.status)}{_detail(final)}  in {elapsed}")
    return final


def until_concluded(read: Callable[[], Item]) -> Item:
    """The item once concluded (the log tail ends at that moment, or earlier if it broke)."""
    while not (item := read()).concluded:
        time.sleep(POLL_SECONDS)
    return item


def _poll(status: StatusLine[Item], read: Callable[[], Item], stop: threading.Event) -> None:
    while not stop.wait(POLL_SECONDS):
        try:
            status.item = read()
        except Exception:  # a failed refresh keeps the last status; the logs go on
            continue


def _print_line(line: LogLine) -> None:
    out.print(Text(line.log), soft_wrap=True)


def _detail(item: Build | Run) -> str:
    if isinstance(item, Run) and item.failed:
        return f"  {item.failed} failed attempt{'s' if item.failed > 1 else ''}"
    return ""


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, whole = divmod(int(seconds), 60)
    return f"{minutes}m{whole:02d}s"
