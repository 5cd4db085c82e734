"""The error envelope of the API as an exception: status, message and the failing fields."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """An answer of the API other than 2xx: `{"error": {status, message, id, details}}`."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            error = response.json()["error"]
            return cls(int(error["status"]), str(error["message"]), error.get("details"))
        except (ValueError, KeyError, TypeError):
            text = response.text.strip() or response.reason_phrase
            return cls(response.status_code, text[:500])

    def field_messages(self) -> list[tuple[str, str]]:
        """(field path, message) of a validation error, as many as the server named."""
        return [(path, _message_text(message)) for path, message in self.details.items()]

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def _message_text(message: Any) -> str:
    if isinstance(message, list):
        return "; ".join(str(item) for item in message)
    return str(message)
