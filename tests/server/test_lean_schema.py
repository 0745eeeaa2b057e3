"""The lean tool schemas (tools/schema.py) say what the models check, no more and no less.

For every input property: the schema accepts null only where the model accepts None, and refuses it only where
leaving the property out says None (an optional property whose default is None); the schema's examples, enum
members and defaults pass the model; and what the schema's bounds, patterns, enums and types refuse, the model
refuses too. (The model is more lenient in one deliberate way the schema does not show: vocabularies in another
case and space around values are accepted, `any_case`/`Lower` in models/fields.py; the schema gives the canonical
spelling.) For every output: what the server sends (a dump of the output model without its None fields, with the
guard's `next_steps`) validates against the published `outputSchema`, as a client checks it, and holds no null;
real results through a client too. And nothing generated is left: no `title`, no null wrapper, no
`default: null`, no `{}` schema, and every `$ref` resolves within its own schema.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError, create_model

from kyc_mcp.models.fields import Input
from kyc_mcp.operations import TABLE
from kyc_mcp.tools import build_tools
from kyc_mcp.tools.schema import lean
from tests.support.clients import User
from tests.support.mcp_client import Connect, nulls, ok

TOOLS = {tool.name: tool for tool in build_tools(tuple(TABLE))}
OPS = {op.name: op for op in TABLE}
PROPERTIES = [(name, prop) for name, op in OPS.items() for prop in op.input.model_fields]
STEPS = [{"tool": "get_kyc_status", "why": "see the decision"}, {"tool": "x", "why": "y", "arguments": {"a": 1}}]


def _schema(tool: str, prop: str) -> Draft202012Validator:
    root = TOOLS[tool].parameters
    return Draft202012Validator({**root["properties"][prop], "$defs": root.get("$defs", {})})


def _model_accepts(tool: str, prop: str, value: Any) -> bool:
    """Whether the input model's field alone takes `value` (the model's cross-field rules aside)."""
    field = OPS[tool].input.model_fields[prop]
    probe = create_model("Probe", __base__=Input, **{prop: (field.annotation, field)})  # type: ignore[call-overload]
    try:
        probe.model_validate({prop: value})
    except ValidationError:
        return False
    return True


def _refused_by_schema(schema: dict[str, Any], *, null: bool = True) -> list[Any]:
    """Values the property's schema refuses, one per rule it has (`null`: None among them, where it is one)."""
    kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    refused: list[Any] = []
    if "string" in kinds:
        refused.append(12345)
        if schema.get("minLength", 0) >= 1:
            refused.append("")
        if "maxLength" in schema:
            refused.append("7" * (schema["maxLength"] + 1))
        if "pattern" in schema:
            refused.append("no such thing!")
        if "enum" in schema:
            refused.append("zzz-not-a-member")
    if "integer" in kinds:
        refused.append("many")
        for bound, past in (("minimum", -1), ("maximum", 1), ("exclusiveMinimum", 0)):
            if bound in schema:
                refused.append(schema[bound] + past)
    if "boolean" in kinds:
        refused.append("perhaps")
    if null and "null" not in kinds:
        refused.append(None)
    return refused


@pytest.mark.parametrize(("tool", "prop"), PROPERTIES, ids=[f"{t}.{p}" for t, p in PROPERTIES])
def test_an_input_property_accepts_what_the_model_accepts(tool: str, prop: str) -> None:
    schema = TOOLS[tool].parameters["properties"][prop]
    validator = _schema(tool, prop)
    field = OPS[tool].input.model_fields[prop]
    omitted_means_none = not field.is_required() and field.default is None
    if validator.is_valid(None):
        assert _model_accepts(tool, prop, None), "the schema takes null, the model refuses it"
    else:
        assert omitted_means_none or not _model_accepts(tool, prop, None), "the model takes null, the schema not"
    for value in [*schema.get("examples", []), *schema.get("enum", []), schema.get("default")]:
        if value is not None:
            assert validator.is_valid(value) and _model_accepts(tool, prop, value), value
    for value in _refused_by_schema(schema, null=not omitted_means_none):
        assert not validator.is_valid(value), value
        assert not _model_accepts(tool, prop, value), f"the schema refuses {value!r}, the model takes it"


def _sample(annotation: Any) -> Any:
    """A value of a required output field's type."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _sample(get_args(annotation)[0])
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (Union, types.UnionType):
        return _sample(get_args(annotation)[0])
    return {str: "x", int: 3, float: 1.5, bool: True}[annotation]


def _dump(model: type[BaseModel], **values: Any) -> dict[str, Any]:
    required = {name: _sample(field.annotation) for name, field in model.model_fields.items() if field.is_required()}
    if "path" in required:  # an upload's answer names its stored path
        required["path"] = "media/private/kyc/a.jpg"
    dump = model.model_validate({**required, **values}).model_dump(mode="json", exclude_none=True)
    return {**dump, "next_steps": STEPS}  # as the guard sends them (guard/pipeline.py, NextStep.wire)


FILLED = {
    "get_kyc_metadata": {"countries": ["SG", {"code": "MY", "name": "Malaysia"}], "genders": [{"code": "male"}]},
    "get_kyc_status": {"status": "PENDING", "documents": [{"type": "Selfie", "id": 7}, "ProofOfAddress"]},
    "get_latest_cardholder_kyc": {"kyc_urls": {"front_kyc_url": "a"}, "mobile_user": {"id": 1}, "status": "x"},
    "get_latest_cardholder": {"uuid": "u", "anything": {"the": "upstream sent"}},
    "wait_for_kyc_decision": {
        "resume": {"arguments": {"flow": "masterpay"}, "status_resource": "kyc://status/masterpay", "why": "w"}
    },
}


@pytest.mark.parametrize("tool", sorted(OPS))
def test_what_the_server_sends_validates_against_the_output_schema(tool: str) -> None:
    validator = Draft202012Validator(TOOLS[tool].output_schema)
    validator.check_schema(validator.schema)
    model = OPS[tool].output
    for sent in (_dump(model), _dump(model, **FILLED.get(tool, {}))):
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(sent)]
        assert not errors, errors
        assert "null" not in json.dumps(sent), "a result never holds a null: the schemas do not allow one"


def _nodes(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every subschema with its path (property names are keys of `properties`, not schemas)."""
    if not isinstance(schema, dict):
        return []
    found = [(path, schema)]
    for key, value in schema.items():
        if key in ("properties", "$defs", "patternProperties"):
            for name, child in value.items():
                found += _nodes(child, f"{path}/{key}/{name}")
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            found += _nodes(value, f"{path}/{key}")
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for index, child in enumerate(value):
                found += _nodes(child, f"{path}/{key}/{index}")
    return found


@pytest.mark.parametrize("tool", sorted(OPS))
def test_no_generated_leftovers_and_every_reference_resolves(tool: str) -> None:
    for schema in (TOOLS[tool].parameters, TOOLS[tool].output_schema):
        defs = schema.get("$defs", {})
        for path, node in _nodes(schema):
            assert node, f"{path}: an empty schema accepts anything"
            assert "title" not in node, path
            assert {"type": "null"} not in node.get("anyOf", []), f"{path}: a null wrapper"
            assert "default" not in node or node["default"] is not None, path
            if "$ref" in node:
                assert node["$ref"].removeprefix("#/$defs/") in defs, path
            if node.get("type") == "array" or "array" in (node.get("type") or []):
                assert node.get("items"), f"{path}: a list without its item type"


def test_lean_keeps_meaning_it_cannot_merge() -> None:
    """A union that is not just X-or-null stays a union; a definition used twice stays shared; a recursive one is
    kept; the caller's schema is not changed."""
    union = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/A"}, {"type": "null"}], "title": "U"}
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
    schema = {
        "type": "object",
        "properties": {"u": union, "a": {"$ref": "#/$defs/A"}, "tree": {"$ref": "#/$defs/Node"}},
        "$defs": {"A": {"type": "object", "title": "A", "properties": {"n": {"type": "integer"}}}, "Node": tree},
    }
    before = repr(schema)
    result = lean(schema)
    assert repr(schema) == before
    assert result["properties"]["u"] == {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/A"}, {"type": "null"}]}
    assert result["properties"]["a"] == {"$ref": "#/$defs/A"}
    assert result["$defs"]["A"] == {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert result["properties"]["tree"] == {"$ref": "#/$defs/Node"} and "Node" in result["$defs"]
    literal = lean({"anyOf": [{"const": "en", "type": "string"}, {"type": "null"}], "default": None})
    assert literal == {"type": ["string", "null"], "enum": ["en", None]}


@pytest.mark.anyio
async def test_real_results_validate_against_the_listed_schemas_and_hold_no_null(connect: Connect, user: User) -> None:
    """Through a real client and the sandbox, a fresh user's results (a profile with most fields unset, a document
    never stored, a status not yet submitted) validate against the `outputSchema` the client listed."""
    async with connect(user) as client:
        schemas = {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}
        for tool in ("create_masterpay_user", "get_kyc_metadata", "get_profile", "get_document", "get_kyc_status"):
            sent = await ok(client, tool)
            assert not nulls(sent), tool
            errors = [e.message for e in Draft202012Validator(schemas[tool]).iter_errors(sent)]
            assert not errors, (tool, errors)
        profile = await ok(client, "get_profile")
        assert "address3" not in profile and "next_steps" in profile  # unset: left out, not null
