"""Domain errors: a refused use case, with a translated message that is safe to show."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused use case; its message is translated and safe to show to the user."""

    def __init__(self, message: Any, *, field: str | None = None, more: list[tuple[str | None, Any]] = ()):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        # Every refusal at once (the first is `field`/`message`), so a form shows them all, not one per submit.
        self.errors: list[tuple[str | None, str]] = [(field, self.message), *((f, str(m)) for f, m in more)]

    @classmethod
    def of(cls, errors: list[tuple[str | None, Any]]) -> DomainError:
        """One error carrying every (field, message) of `errors` (not empty)."""
        (field, message), *more = errors
        return cls(message, field=field, more=more)
