"""Turn pydantic's error dicts into short, human ``path: message`` problems."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import ErrorDetails

from ._locs import format_loc

TOP_LEVEL = "(top level)"

_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "true/false",
    int: "an integer",
    float: "a number",
    type(None): "nothing (null)",
}


def config_path(loc: Sequence[str | int], data: Any) -> str:
    """Format ``loc`` as written in the file, dropping segments pydantic adds itself.

    Walking the input tells them apart: a union tag (``s3``), a union member name or a
    ``[key]`` marker is not a key of the data at that point.
    """
    out: list[str | int] = []
    node = data
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, Mapping):
            if seg in node:
                out.append(seg)
                node = node[seg]
            elif last and seg != node.get("type"):
                out.append(seg)  # a missing key
        elif isinstance(node, list) and isinstance(seg, int):
            out.append(seg)
            node = node[seg] if 0 <= seg < len(node) else None
    return format_loc(tuple(out)) or TOP_LEVEL


def error_message(err: ErrorDetails) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    render = _MESSAGES.get(kind)
    return render(ctx, value) if render else err["msg"]


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return _a(value)


def _a(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _exc(ctx: Mapping[str, Any], _: Any) -> str:
    return str(ctx.get("error", "invalid value"))


def _expected(what: str) -> Callable[[Mapping[str, Any], Any], str]:
    # Input is shown for scalar types; a secret is always a string, so it never gets here.
    return lambda ctx, value: f"expected {what}, got {_shown(value)}"


def _bound(op: str, key: str) -> Callable[[Mapping[str, Any], Any], str]:
    return lambda ctx, value: f"must be {op} {ctx[key]} (got {_shown(value)})"


_MESSAGES: dict[str, Callable[[Mapping[str, Any], Any], str]] = {
    "missing": lambda ctx, value: "required",
    "extra_forbidden": lambda ctx, value: "unknown key",
    "value_error": _exc,
    "assertion_error": _exc,
    "int_parsing": _expected("an integer"),
    "int_type": _expected("an integer"),
    "int_from_float": _expected("a whole number"),
    "float_parsing": _expected("a number"),
    "float_type": _expected("a number"),
    "bool_parsing": _expected("true or false"),
    "bool_type": _expected("true or false"),
    "string_type": lambda ctx, value: f"expected a string, got {_a(value)}",
    "list_type": lambda ctx, value: f"expected a list, got {_a(value)}",
    "tuple_type": lambda ctx, value: f"expected a list, got {_a(value)}",
    "dict_type": lambda ctx, value: f"expected a mapping, got {_a(value)}",
    "model_type": lambda ctx, value: f"expected a mapping, got {_a(value)}",
    "model_attributes_type": lambda ctx, value: f"expected a mapping, got {_a(value)}",
    "greater_than_equal": _bound(">=", "ge"),
    "greater_than": _bound(">", "gt"),
    "less_than_equal": _bound("<=", "le"),
    "less_than": _bound("<", "lt"),
    "multiple_of": _bound("a multiple of", "multiple_of"),
    "enum": lambda ctx, value: f"expected one of {ctx['expected']}, got {_shown(value)}",
    "literal_error": lambda ctx, value: f"expected {ctx['expected']}, got {_shown(value)}",
    "union_tag_invalid": lambda ctx, value: (
        f"unknown type {ctx['tag']!r} (expected {ctx['expected_tags']})"
    ),
    "union_tag_not_found": lambda ctx, value: f"missing {ctx['discriminator']} key",
    "string_too_short": lambda ctx, value: (
        "must not be empty"
        if ctx["min_length"] == 1
        else f"must be at least {ctx['min_length']} characters"
    ),
    "string_too_long": lambda ctx, value: f"must be at most {ctx['max_length']} characters",
    "url_parsing": lambda ctx, value: f"not a valid URL ({ctx['error']})",
    "url_scheme": lambda ctx, value: f"not an {ctx['expected_schemes']} URL",
    "url_type": lambda ctx, value: f"expected a URL string, got {_a(value)}",
}


def translate(errors: Sequence[ErrorDetails], data: Any) -> list[tuple[str, str]]:
    """``(path, message)`` for each pydantic error, paths as written in the file."""
    return [(config_path(err["loc"], data), error_message(err)) for err in errors]
