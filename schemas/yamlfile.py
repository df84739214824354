"""Load a YAML file and validate it with pydantic, reporting every problem with its line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from schemas.errors import HubError

M = TypeVar("M", bound=BaseModel)
#: libyaml's safe loader where PyYAML was built with it (several times faster), else PyYAML's
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` that exists in the YAML tree."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


Problem = tuple[Sequence[int | str], str]


def load_model(
    path: Path,
    model: type[M],
    error: type[HubError],
    what: str,
    checks: Callable[[M], list[Problem]] | None = None,
) -> M:
    """Read ``path`` as YAML into ``model``; raise ``error`` listing every problem at once.

    ``checks`` adds problems that need the whole document (cross references), each as a
    key path and a reason. Each problem reads ``file:line: key.path: reason``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} cannot be read: {exc}") from None
    try:
        data: Any = yaml.load(text, Loader=LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        reason = getattr(exc, "problem", None) or str(exc)
        raise error(f"{where}: not valid YAML: {reason}") from None
    if data is None:
        data = {}
    found: list[Problem] = []
    result: M | None = None
    try:
        result = model.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            found.append((loc, err["msg"].removeprefix("Value error, ")))
    if result is not None and checks is not None:
        found.extend(checks(result))
    if found:
        root = yaml.compose(text, Loader=LOADER)  # the tree with lines, for the messages
        problems = [f"{path}:{_line_of(root, loc)}: {_dotted(loc)}: {msg}" for loc, msg in found]
        raise error(f"{what} {path} has {len(problems)} problem(s):", problems)
    assert result is not None
    return result
