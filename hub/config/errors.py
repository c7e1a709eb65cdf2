"""The configuration's one exception: every problem found in a config file, at once.

``ConfigError`` is fatal (retrying will not help): the operator has to edit the file. Its
``str()`` is one line per problem, ``path: message``, ready for ``bkhub check-config``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem"]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in a config file.

    ``path`` points into the document (``schools[3].cameras[1].rtsp_url``), or names the
    file itself for problems such as "file not found" and YAML syntax errors.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(Exception):
    """The config file could not be loaded; ``problems`` lists every reason found."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[ConfigProblem, ...]]]:
        # Survives pickling to worker processes with its problems intact.
        return (type(self), (self.problems,))
