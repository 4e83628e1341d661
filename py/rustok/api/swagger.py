"""GET /swagger: Swagger UI served from the installed `swagger-ui-bundle` package (no CDN: it works offline).

Swagger UI 4 (the version that package ships) renders OpenAPI 3.0 only, so it reads
/swagger/openapi-3.0.json: the same document as /openapi.json with the few JSON Schema 2020-12 idioms that
pydantic emits rewritten the 3.0 way (nullable instead of a "null" type, enum instead of const)."""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>RusToK API</title>
  <link rel="stylesheet" href="{root}/swagger/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{root}/swagger/static/swagger-ui-bundle.js"></script>
  <script src="{root}/swagger/init.js"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io for a badge.
_INIT = """window.ui = SwaggerUIBundle({{
  url: "{root}/swagger/openapi-3.0.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


def routes(document: dict[str, Any]) -> list[BaseRoute]:
    document_30 = openapi_30(document)

    async def page(request: Request) -> Response:
        return HTMLResponse(_PAGE.format(root=request.scope.get("root_path", "")))

    async def init(request: Request) -> Response:
        return Response(_INIT.format(root=request.scope.get("root_path", "")), media_type="text/javascript")

    async def openapi_json_30(request: Request) -> Response:
        return JSONResponse(document_30)

    return [
        Route("/swagger", page, methods=["GET"]),
        Route("/swagger/init.js", init, methods=["GET"]),
        Route("/swagger/openapi-3.0.json", openapi_json_30, methods=["GET"]),
        Mount("/swagger/static", app=StaticFiles(directory=str(swagger_ui_path)), name="swagger-static"),
    ]


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The document as OpenAPI 3.0.3, for Swagger UI 4."""
    converted = _schema_30(copy.deepcopy(document))
    assert isinstance(converted, dict)
    converted["openapi"] = "3.0.3"
    return converted


def _schema_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_schema_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _schema_30(value) for key, value in node.items()}
    for combinator in ("anyOf", "oneOf"):
        options = node.get(combinator)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del node[combinator]
            node |= rest[0] if len(rest) == 1 else {combinator: rest}
            node["nullable"] = True
    if isinstance(node.get("type"), list):
        types = [t for t in node["type"] if t != "null"]
        if len(types) < len(node["type"]):
            node["nullable"] = True
        node["type"] = types[0] if len(types) == 1 else types
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if isinstance(node.get("examples"), list) and "type" in node:
        node["example"] = node.pop("examples")[0]
    return node
