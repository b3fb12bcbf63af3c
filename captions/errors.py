"""The one error type of the captions slice: a status for REST, a stable code and a message.

Socket.IO events answer it as the ack `{"ok": false, "error": {...}}`; REST routes raise it as
the kernel's `ApiError` (same code and message)."""

from __future__ import annotations

from typing import Any

from kernel.errors import ApiError


class CaptionError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details

    def ack(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "message": self.message, **self.details}}

    def api(self) -> ApiError:
        return ApiError(self.status, self.code, self.message, details=self.details)
