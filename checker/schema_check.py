"""A small validator for the subset of JSON Schema (draft 2020-12) that checker/status.schema.json uses.

The kata has no runtime dependency on the `jsonschema` package: `kata class-report` checks each
learner's file with this, and the selftests check `kata status --json` against the same schema.
A keyword outside the subset raises ValueError, so the schema cannot use one this validator would
silently ignore.

    problems(document, schema) -> list[str]    empty when the document matches
"""

from __future__ import annotations

import re

# Keywords that only describe: they never make a document invalid.
ANNOTATIONS = {"$schema", "$id", "$defs", "$comment", "title", "description", "examples"}
CHECKED = {"type", "const", "enum", "properties", "required", "additionalProperties", "items",
           "minimum", "maximum", "minLength", "maxLength", "pattern", "$ref"}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def problems(document, schema: dict, *, limit: int = 20) -> list[str]:
    """What is wrong with `document` under `schema`, one line each ("$.stages[2].state: ..."), at most `limit`."""
    found: list[str] = []
    _check(document, schema, schema, "$", found, limit)
    return found[:limit]


def _check(value, schema: dict, root: dict, where: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    unknown = set(schema) - ANNOTATIONS - CHECKED
    if unknown:
        raise ValueError(f"schema keyword(s) {sorted(unknown)} at {where} are not supported by checker.schema_check")
    if "$ref" in schema:
        _check(value, _resolve(schema["$ref"], root), root, where, found, limit)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            found.append(f"{where}: expected {' or '.join(types)}, got {_describe(value)}")
            return  # the other keywords would only repeat the same mistake
    if "const" in schema and not _same(value, schema["const"]):
        found.append(f"{where}: expected {schema['const']!r}, got {_describe(value)}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        found.append(f"{where}: expected one of {schema['enum']}, got {_describe(value)}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{where}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{where}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: the field {name!r} is missing")
        for name, item in value.items():
            if name in properties:
                _check(item, properties[name], root, f"{where}.{name}", found, limit)
            elif schema.get("additionalProperties", True) is False:
                found.append(f"{where}: unexpected field {name!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                _check(item, schema["additionalProperties"], root, f"{where}.{name}", found, limit)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], root, f"{where}[{index}]", found, limit)


def _resolve(reference: str, root: dict) -> dict:
    if not reference.startswith("#/"):
        raise ValueError(f"only local references (#/...) are supported, not {reference!r}")
    node = root
    for part in reference[2:].split("/"):
        node = node[part]
    return node


def _same(value, expected) -> bool:
    """Equality as JSON means it: true is not 1."""
    return type(value) is type(expected) and value == expected if isinstance(value, bool) or isinstance(
        expected, bool) else value == expected


_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}


def _describe(value) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{_JSON_NAMES.get(type(value), type(value).__name__)} {text[:60] + '...' if len(text) > 60 else text}"
