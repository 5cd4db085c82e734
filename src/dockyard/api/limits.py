"""Request bodies over DOCKYARD_MAX_REQUEST_MB are refused with 413, before they are read
whole: by their Content-Length, or while a chunked body streams in."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.api.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is None:
            # A streamed body: read it here (at most the limit) and hand it on whole.
            body, whole = await self._read_at_most(receive)
            if not whole:
                await self._refuse(scope, receive, send)
                return
            receive = self._replaying(body, receive)
        elif not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body is larger than {self.max_bytes} bytes"
        details = {"body": [f"at most {self.max_bytes} bytes"]}
        await error_response(413, "payload-too-large", message, details)(scope, receive, send)

    async def _read_at_most(self, receive: Receive) -> tuple[bytes, bool]:
        """The body, and whether it was within the limit (reading stops once it is not)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True

    @staticmethod
    def _replaying(body: bytes, receive: Receive) -> Receive:
        """The body read already, then the connection's own messages (its disconnect)."""
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay
