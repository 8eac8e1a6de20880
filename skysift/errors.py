"""Exceptions raised for user mistakes: each names the file, column and row where it can."""

from __future__ import annotations

from collections.abc import Sequence


class SkysiftError(Exception):
    """Base class of every error skysift raises on purpose."""


class InputError(SkysiftError, ValueError):
    """Bad user input (a table, a file, a value), with where it was found.

    Parameters
    ----------
    message:
        What is wrong, in words.
    source:
        The file (or a description such as ``"photometry table"``) it was found in.
    column:
        The offending column, if any.
    rows:
        Row numbers (0-based positions in the table, or 1-based line numbers when
        ``line_numbers`` is true) where it was found; at most five are printed.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        rows: Sequence[int] | None = None,
        line_numbers: bool = False,
    ) -> None:
        self.message = message
        self.source = source
        self.column = column
        self.rows = list(rows) if rows is not None else []
        parts = []
        if source:
            parts.append(str(source))
        if column:
            parts.append(f"column '{column}'")
        if self.rows:
            word = "line" if line_numbers else "row"
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" and {len(self.rows) - 5} more" if len(self.rows) > 5 else ""
            parts.append(f"{word}{'s' if len(self.rows) > 1 else ''} {shown}{more}")
        where = ": ".join([", ".join(parts)]) if parts else ""
        super().__init__(f"{where}: {message}" if where else message)


class ModelMismatchError(SkysiftError, ValueError):
    """A saved model does not fit the data it was given (features, bands, context)."""


class Rejected(SkysiftError):
    """Refused input of a service (HTTP, Kafka): an HTTP status, a one-line reason naming the
    field, optional details. The stream records it in its rejected table."""

    def __init__(self, status: int, reason: str, errors: list | None = None) -> None:
        Exception.__init__(self, reason)
        self.status = status
        self.reason = reason
        self.errors = errors or []


class AlertError(Rejected, InputError):
    """An alert packet that cannot be read or is invalid (status 422; 413 when over a limit, 415
    for a codec), naming the field. Both a :class:`Rejected` (for the stream) and an
    :class:`InputError` (for file readers)."""

    def __init__(self, reason: str, status: int = 422, field: str | None = None) -> None:
        Rejected.__init__(self, status, reason)
        self.message, self.source, self.column, self.rows = reason, None, field, []


class InputWarning(UserWarning):
    """Input accepted with a change the user should know of (placeholder values left out, ...),
    naming the file and rows; the command line prints it as one line."""
