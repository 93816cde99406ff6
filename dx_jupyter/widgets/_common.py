"""What the notebook panels share: showing themselves with a readable fallback, and formatting."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any, Optional

import ipywidgets as w

STATUS_COLORS = {
    "pending": "#6b7280",
    "in_progress": "#2563eb",
    "completed": "#15803d",
    "failed": "#b91c1c",
    "cancelled": "#92400e",
    "unprocessed": "#6b7280",
}
FINAL = ("completed", "failed", "cancelled")
STEP_FINAL = ("completed", "failed", "unprocessed")


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt_time(iso: Optional[str]) -> str:
    """'2026-11-29 07:40:00 UTC' from the API's ISO time, or '-'."""
    if not iso:
        return "-"
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return iso
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def status_html(status: str) -> str:
    color = STATUS_COLORS.get(status, "inherit")
    return f'<span style="color:{color};font-weight:600">{esc(status)}</span>'


def label(value: str, cls: str, width: Optional[str] = None, **kw: Any) -> w.Label:
    widget = w.Label(value, layout=w.Layout(width=width) if width else w.Layout(), **kw)
    widget.add_class(cls)
    return widget


def color_status(widget: w.Label, status: str) -> None:
    widget.style.text_color = STATUS_COLORS.get(status)
    widget.style.font_weight = "bold"


def error_html(message: str) -> str:
    return f'<span style="color:#b91c1c">{esc(message)}</span>'


class LiveDisplay:
    """A panel that shows itself once per cell and keeps its output readable after the kernel dies.

    The display bundle holds the widget view plus a text/plain and a text/html summary of the
    panel's current state; `refresh_display()` re-sends it (an `update_display_data`) so that a
    saved notebook keeps the last state even where widgets are not rendered.
    """

    def summary_text(self) -> str:
        """The panel's state as plain text; every panel defines its own."""
        raise NotImplementedError(f"{type(self).__name__} must define summary_text()")

    def summary_html(self) -> str:
        return f"<pre>{esc(self.summary_text())}</pre>"

    def mimebundle(self) -> dict[str, Any]:
        data = dict(w.DOMWidget._repr_mimebundle_(self))  # type: ignore[arg-type]
        data["text/plain"] = self.summary_text()
        data["text/html"] = self.summary_html()
        return data

    def show(self) -> Any:
        """Display the panel (once per cell); returns the display handle."""
        from IPython.display import display

        handle = display(self.mimebundle(), raw=True, display_id=True)
        handles = self.__dict__.setdefault("_dx_handles", [])
        if handle is not None:
            handles.append(handle)
        self.__dict__["_dx_shown_in"] = _execution_count()
        return handle

    def refresh_display(self) -> None:
        bundle = self.mimebundle()
        for handle in self.__dict__.get("_dx_handles", []):
            handle.update(bundle, raw=True)

    def _ipython_display_(self) -> None:
        if self.__dict__.get("_dx_shown_in") is not None and self.__dict__.get("_dx_shown_in") == _execution_count():
            return  # the magic that returned this object showed it already in this cell
        self.show()


def _execution_count() -> Optional[int]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return getattr(shell, "execution_count", None)
