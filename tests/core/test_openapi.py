"""docs/openapi.yaml stays true: a valid OpenAPI 3.1 document that describes every route the app
serves, and nothing it does not (as test_protocol_doc does for docs/protocol.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from innotv.app import create_app
from innotv.config import load_config

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def load() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return spec


def test_the_description_is_valid_openapi_3_1() -> None:
    spec = load()
    assert spec["openapi"].startswith("3.1.")
    validate(spec)  # raises with the first problem


def test_the_validator_catches_a_broken_description() -> None:
    """The check can fail: a path parameter that is not declared is refused."""
    spec = load()
    spec["paths"]["/api/broken/{nope}"] = {"get": {"responses": {"200": {"description": "x"}}}}
    try:
        validate(spec)
    except OpenAPIValidationError:
        return
    raise AssertionError("an undeclared path parameter passed validation")


def test_every_route_is_described_and_nothing_else(tmp_path: Path) -> None:
    app = create_app(load_config({"data_dir": str(tmp_path)}, environ={}))
    served: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue  # aiohttp adds HEAD to every GET
        path = route.resource.canonical
        if path == "/static":
            path = "/static/{path}"  # a folder of files
        served.add((route.method.lower(), path))
    described = {(method, path) for path, item in load()["paths"].items() for method in item
                 if method in METHODS}
    assert sorted(served - described) == [], "routes missing from docs/openapi.yaml"
    assert sorted(described - served) == [], "docs/openapi.yaml describes routes the app does not serve"
