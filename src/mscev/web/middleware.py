"""ASGI middleware of the web application: request body limit, the build each response came from, and HEAD
answered wherever GET is."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.exceptions import HTTPException

from mscev.web.site import BUILD_HEADER, Site


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` (by Content-Length, or while streaming)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            response = Response(self._message(), 413, media_type="text/plain; charset=utf-8")
            return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return (f"The request body is larger than {self.max_bytes} bytes, the limit of this server "
                "(mscev serve --max-body).\n")


class BuildHeader:
    """ASGI middleware: looks for a new build before each request (Site.refresh) and names the build served in
    the X-Mscev-Build header of every response (a response from a query worker names the worker's own)."""

    def __init__(self, app, site: Site):
        self.app, self.site = app, site

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self.site.refresh()
        build = self.site.current.build.encode()

        async def send_naming_the_build(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == BUILD_HEADER.lower().encode() for name, _ in headers):
                    headers.append((BUILD_HEADER.lower().encode(), build))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_naming_the_build)


class HeadAsGet:
    """ASGI middleware answering HEAD wherever GET is answered (FastAPI routes take GET alone, so HEAD was a 405):
    the request is handled as a GET and the body is dropped, so the status and headers (Content-Length too) are
    exactly those of the GET (RFC 9110, section 9.3.2)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def send_without_body(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
