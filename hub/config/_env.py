"""``${VAR}`` / ``${VAR:-default}`` substitution in string values, before validation.

Secrets (camera and store passwords) stay out of config.yaml this way. ``$${`` stands for a
literal ``${``. Keys are never substituted: they are ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._locs import Loc

_REF_RE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_BODY_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$", re.DOTALL)


def substitute_env(data: Any, env: Mapping[str, str]) -> tuple[Any, list[tuple[Loc, str]]]:
    """Return a copy of ``data`` with references replaced, and the references that failed.

    A value with a failed reference is left as written, so validation still sees it; the
    loader drops validation errors at those locations.
    """
    problems: list[tuple[Loc, str]] = []
    return _walk(data, (), env, problems), problems


def _walk(node: Any, loc: Loc, env: Mapping[str, str], problems: list[tuple[Loc, str]]) -> Any:
    if isinstance(node, str):
        return _substitute(node, loc, env, problems)
    if isinstance(node, dict):
        return {k: _walk(v, (*loc, k), env, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, (*loc, i), env, problems) for i, v in enumerate(node)]
    return node


def _substitute(
    text: str, loc: Loc, env: Mapping[str, str], problems: list[tuple[Loc, str]]
) -> str:
    if "${" not in text:
        return text
    failed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        whole, body = match.group(0), match.group("body")
        if whole == "$${":
            return "${"
        if body is None:
            failed.append("unterminated ${ (write $${ for a literal ${)")
            return whole
        ref = _BODY_RE.match(body)
        if ref is None:
            failed.append(f"invalid environment reference {whole}")
            return whole
        name, default = ref.group("name"), ref.group("default")
        value = env.get(name)
        if default is not None and not value:  # shell rule: ':-' also covers empty
            return default
        if value is None:
            failed.append(f"environment variable {name} is not set")
            return whole
        return value

    result = _REF_RE.sub(replace, text)
    if failed:
        problems.extend((loc, message) for message in failed)
        return text
    return result
