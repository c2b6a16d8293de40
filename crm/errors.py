"""Domain errors: a refused use case, with a translated message that is safe to show."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused use case; its message is translated and safe to show to the user."""

    def __init__(self, message: Any, *, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
