"""Lean tool schemas: the JSON schemas pydantic writes for the models, with what a model reading `tools/list` does
not need taken out and the meaning left as it was.

`lean(schema)` is applied to every tool's `inputSchema` and `outputSchema` (tools/registry.py). It

- drops the generated `title` of every model and property (the tool keeps its own title);
- writes an optional value (`X | None`) as one schema whose `type` lists `"null"` (and whose `enum` holds `null`),
  not as `anyOf: [X, {"type": "null"}]`: an explicit null still validates wherever the model accepts None, and the
  keywords of X (`maxLength`, `pattern`, `properties`...) still constrain only values of X's type;
- drops annotations that say nothing: `default: null` (an absent optional is None), every `default` of an output
  (the server always sends every field), and `additionalProperties: true` (JSON Schema's own default);
- writes an input property that may be left out and defaults to None (`x: X | None = None`) as X alone: leaving
  it out says "none", so the schema shows one way to say it, and the model still accepts an explicit null;
- writes an output property that may be None as X alone, and not required: results leave out what is None
  (`exclude_none`, guard/pipeline.py), so a result never holds a null;
- keeps one example per property (the first, the most typical);
- inlines a `$defs` entry referenced once (the flow guard's `Step` in every output) and keeps `$defs`/`$ref` only
  for a definition used more than once within the schema (never across tools: each schema stands alone).

Descriptions, enums, patterns, formats, bounds, `required` and `additionalProperties: false` stay as they were.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

DEFS = "$defs"
REF_PREFIX = "#/$defs/"
# Keywords whose value is one subschema, or a list or a name-to-subschema map of them (JSON Schema 2020-12).
ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
NAMED = ("properties", "patternProperties", "$defs", "dependentSchemas")


def lean(schema: dict[str, Any], *, output: bool = False) -> dict[str, Any]:
    """The lean form of `schema` (a copy); `output`: the schema of what the server sends, so defaults go too."""
    schema = copy.deepcopy(schema)
    defs: dict[str, Any] = schema.pop(DEFS, {})
    uses = _count_refs(schema, defs)
    once = {name for name, count in uses.items() if count == 1 and not _recursive(name, defs)}
    schema = _inline(schema, defs, once)
    kept = {name: _inline(defs[name], defs, once) for name in sorted(defs) if uses.get(name, 0) and name not in once}
    if kept:
        schema[DEFS] = kept
    return _share(_clean(_omittable(schema, output=output), output=output))


# ---- $defs: inline what is used once ---------------------------------------------------------------------------


def _ref_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    return ref.removeprefix(REF_PREFIX) if isinstance(ref, str) and ref.startswith(REF_PREFIX) else None


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The subschemas directly inside `node`."""
    found: list[dict[str, Any]] = []

    def keep(child: dict[str, Any]) -> dict[str, Any]:
        found.append(child)
        return child

    _map(node, keep)
    return found


def _refs_in(node: dict[str, Any]) -> list[str]:
    names = [name] if (name := _ref_name(node)) else []
    for child in _children(node):
        names += _refs_in(child)
    return names


def _count_refs(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, int]:
    """How often each definition is referenced, counting a definition's own references once per use of it."""
    counts: dict[str, int] = {}

    def visit(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for name in _refs_in(node):
            counts[name] = counts.get(name, 0) + 1
            if name in defs and name not in path:  # a recursive definition is counted, not followed
                visit(defs[name], (*path, name))

    visit(schema, ())
    return counts


def _recursive(name: str, defs: dict[str, Any]) -> bool:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for ref in _refs_in(defs.get(todo.pop(), {})):
            if ref == name:
                return True
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return False


def _inline(node: Any, defs: dict[str, Any], once: set[str]) -> Any:
    """`node` with each reference to a definition in `once` replaced by the definition (its siblings win)."""
    if isinstance(node, list):
        return [_inline(item, defs, once) for item in node]
    if not isinstance(node, dict):
        return node
    name = _ref_name(node)
    if name in once:
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return _inline({**defs[name], **siblings}, defs, once)
    return _map(node, lambda child: _inline(child, defs, once))


def _map(node: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """`node` with `change` applied to each subschema directly inside it."""
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in ONE and isinstance(value, dict):
            value = change(value)
        elif key in MANY and isinstance(value, list):
            value = [change(item) if isinstance(item, dict) else item for item in value]
        elif key in NAMED and isinstance(value, dict):
            value = {name: change(item) if isinstance(item, dict) else item for name, item in value.items()}
        result[key] = value
    return result


# ---- $defs: share what is repeated -----------------------------------------------------------------------------

SHARED_MIN_CHARS = 80  # a shorter repeated property schema costs less than its `$ref` and definition


def _share(schema: dict[str, Any]) -> dict[str, Any]:
    """Each property schema of at least `SHARED_MIN_CHARS` that appears more than once (e.g. the same status
    twice) as one definition under `$defs`, named after the first property that has it."""
    seen: dict[str, list[str]] = {}  # canonical JSON -> the property names that have it, in order

    def collect(node: dict[str, Any]) -> dict[str, Any]:
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict) and "$ref" not in prop:
                seen.setdefault(json.dumps(prop, sort_keys=True), []).append(name)
        return _map(node, collect)

    collect(schema)
    defs: dict[str, Any] = schema.get(DEFS, {})
    names: dict[str, str] = {}
    for text, users in seen.items():
        if len(users) > 1 and len(text) >= SHARED_MIN_CHARS:
            name = next(f"{users[0]}{n or ''}" for n in range(len(defs) + 2) if f"{users[0]}{n or ''}" not in defs)
            defs[name] = json.loads(text)
            names[text] = name
    if not names:
        return schema

    def point(node: dict[str, Any]) -> dict[str, Any]:
        node = _map(node, point)
        props = node.get("properties")
        if isinstance(props, dict):
            shared = {name: names.get(json.dumps(prop, sort_keys=True)) for name, prop in props.items()}
            node["properties"] = {
                name: {"$ref": REF_PREFIX + ref} if (ref := shared[name]) else prop for name, prop in props.items()
            }
        return node

    return {**point({key: value for key, value in schema.items() if key != DEFS}), DEFS: defs}


# ---- each subschema --------------------------------------------------------------------------------------------


def _clean(node: dict[str, Any], *, output: bool) -> dict[str, Any]:
    kept = {key: value for key, value in node.items() if key != "title"}
    result = _map(kept, lambda child: _clean(child, output=output))
    result = _nullable(result)
    if "default" in result and (output or result["default"] is None):
        del result["default"]
    if result.get("additionalProperties") is True:
        del result["additionalProperties"]
    if isinstance(result.get("examples"), list) and len(result["examples"]) > 1:
        result["examples"] = result["examples"][:1]
    return result


NULL = {"type": "null"}


def _omittable(node: dict[str, Any], *, output: bool) -> dict[str, Any]:
    """`node` with the null branch taken out of each property where None is said by leaving the property out: an
    input's optional property whose default is None; any output property (which then is not required)."""
    node = _map(node, lambda child: _omittable(child, output=output))
    props, required = node.get("properties"), node.get("required", [])
    if not isinstance(props, dict):
        return node
    omitted = {
        name
        for name, prop in props.items()
        if NULL in prop.get("anyOf", ()) and (output or (name not in required and prop.get("default", 0) is None))
    }
    node["properties"] = {name: _without_null(prop) if name in omitted else prop for name, prop in props.items()}
    if kept := [name for name in required if name not in omitted]:
        node["required"] = kept
    else:
        node.pop("required", None)
    return node


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [..., {"type": "null"}]` without its null branch (one remaining branch merged, the property's own
    keywords winning)."""
    others = [branch for branch in prop["anyOf"] if branch != NULL]
    outer = {key: value for key, value in prop.items() if key not in ("anyOf", "default")}
    return {**others[0], **outer} if len(others) == 1 else {"anyOf": others, **outer}


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {"type": "null"}]` (and `anyOf` of bare types) as one schema whose `type` is a list, when X is a
    schema of one type (not a reference, a union or a `const`-only value) so that merging changes no meaning."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or NULL not in branches:
        return node
    others = [branch for branch in branches if branch != NULL]
    if len(others) == 1 and _single_type(others[0]):
        merged: dict[str, Any] = dict(others[0])
    elif others and all(set(branch) == {"type"} and isinstance(branch["type"], str) for branch in others):
        merged = {"type": [branch["type"] for branch in others]}
    else:
        return node
    kind = merged.pop("type")
    merged["type"] = [*(kind if isinstance(kind, list) else [kind]), "null"]
    if "const" in merged:
        merged["enum"] = [merged.pop("const")]
    if "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    outer = {key: value for key, value in node.items() if key != "anyOf"}
    return {**merged, **outer}  # the property's own description, examples and default win over X's


def _single_type(branch: dict[str, Any]) -> bool:
    return isinstance(branch.get("type"), str) and not any(key in branch for key in ("$ref", *MANY))
