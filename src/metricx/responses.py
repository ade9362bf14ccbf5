"""JSON responses rendered with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse


def dumps(content: Any) -> bytes:
    """orjson with the options every metricx payload needs."""
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(StarletteJSONResponse):
    """A JSON response serialised by orjson (dates, datetimes, dataclasses included).

    A JSONResponse subclass, so FastAPI documents each route's response_model in OpenAPI.
    """

    def render(self, content: Any) -> bytes:
        return dumps(content)
