"""The one domain error type services raise.

Views show ``message`` on the form; the API exception handler maps it to a 400
with the same (translated) text.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(self, message: Any, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code

    def as_dict(self) -> dict[str, Any]:
        key = self.field or "detail"
        return {key: [str(self.message)] if self.field else str(self.message), "code": self.code}
