"""The one error type of the chat domain: a stable snake_case code and a human message.

Every refused Socket.IO event answers `{"ok": false, "error": {"code", "message"}}`; a refusal
never drops the connection and never changes state.
"""

from __future__ import annotations

from typing import Any


class ChatError(Exception):
    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def ack(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update(self.details)
        return {"ok": False, "error": error}
