"""The OpenAPI 3.1 document of the API, built from the route table (``web/endpoints.py``)."""

from __future__ import annotations

import re
from typing import Any

from warmrun.web.endpoints import Access, Api, Endpoint
from warmrun.web.security import SESSION_COOKIE

_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    # warmrun.platform.coordinates.Choice: the files' coordinate system
                    "coords": {"type": "string", "enum": ["auto", "wgs84", "gcj02"]},
                },
            }
        }
    },
}


def openapi(api: Api, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every endpoint."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": _ERROR}
    for e in api.endpoints:
        oa_path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", e.path)
        paths.setdefault(oa_path, {})[e.method.lower()] = _operation(e, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
    }


def _operation(e: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    """One endpoint's operation; the schemas of its body model are added to ``schemas``."""
    op: dict[str, Any] = {
        "summary": e.summary,
        "tags": [e.tag],
        "operationId": f"{e.method.lower()}_{e.handler.__name__}",
        "parameters": _parameters(e),
        "responses": {
            "200": {"description": "OK", "content": {e.produces: {"schema": {}}}},
            "default": {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if e.access is not Access.PUBLIC:
        op["security"] = [{"bearer": []}, {"session": []}]
    if e.body is not None:
        schema = e.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[e.body.__name__] = schema
        ref = {"$ref": f"#/components/schemas/{e.body.__name__}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    if e.multipart:
        op["requestBody"] = _UPLOAD
    return op


def _parameters(e: Endpoint) -> list[dict[str, Any]]:
    """The path's ids and codes, then the query model's fields."""
    params: list[dict[str, Any]] = [
        {
            "name": m.group(1),
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
            if m.group(2) == "int"
            else {"type": "string", "maxLength": 64},
        }
        for m in _PARAM.finditer(e.path)
    ]
    if e.query is not None:
        qs = e.query.model_json_schema()
        required = set(qs.get("required", []))
        for name, prop in qs.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    return params
