"""Load config.yaml: read, parse YAML, substitute ${VAR}s, validate, resolve relative paths.

Every problem is collected and raised together as one ConfigError, so an operator fixes a
file in one pass instead of one error per run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ._env import substitute_env
from ._locs import format_loc
from ._translate import TOP_LEVEL, translate
from .errors import ConfigError, ConfigProblem
from .paths import resolve_relative_paths
from .references import find_reference_problems
from .root import REFERENCE_ERROR_TYPE, HubConfig

__all__ = ["load_config"]


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> HubConfig:
    """Load and validate a config file; raise ConfigError listing every problem.

    ``env`` supplies ``${VAR}`` values (default: ``os.environ``). Relative paths in the
    result are resolved against the file's folder.
    """
    file = Path(path)
    data = _parse(file, _read(file))
    data, env_failures = substitute_env(data, os.environ if env is None else env)
    problems = [(format_loc(loc) or TOP_LEVEL, message) for loc, message in env_failures]
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        failed_refs = {path for path, _ in problems}  # already explained by the env problem
        problems += [p for p in translate(errors, data) if p[0] not in failed_refs]
        if not any(err["type"] == REFERENCE_ERROR_TYPE for err in errors):
            # Field errors stopped the model before its reference check: run it on the raw data.
            problems += [(format_loc(loc), msg) for loc, msg in find_reference_problems(data)]
        raise ConfigError(_unique(problems)) from exc
    if problems:
        raise ConfigError(_unique(problems))
    return resolve_relative_paths(config, file.parent)


def _unique(problems: list[tuple[str, str]]) -> list[ConfigProblem]:
    return [ConfigProblem(path, message) for path, message in dict.fromkeys(problems)]


def _fail(file: Path, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(str(file), message)])


def _read(file: Path) -> str:
    try:
        # utf-8-sig: Windows editors often save Chinese text with a BOM.
        return file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _fail(file, "file not found") from None
    except IsADirectoryError:
        raise _fail(file, "is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise _fail(file, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise _fail(file, f"cannot read: {exc.strerror or exc}") from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _parse(file: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise _fail(file, f"YAML syntax error{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _fail(file, f"YAML syntax error: {exc}") from None
    if data is None:
        raise _fail(file, "file is empty (expected a mapping of sections such as schools:)")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise _fail(file, f"top level must be a mapping of sections, not a {kind}")
    return data
