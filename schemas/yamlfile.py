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
BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping gives the same key twice (YAML forbids it; PyYAML would keep the last)."""


class Loader(BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader (libyaml's parser), refusing a key given twice in one mapping.

    Only the construction of mappings is PyYAML's Python code anyway; the check adds one
    set lookup per key to it. Keys merged in with ``<<`` may be overridden, as YAML allows.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(
                    None,
                    None,
                    f"duplicate key {key!r} on line {first} and line {line} "
                    "(YAML would keep only the last)",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


LOADER: type[yaml.SafeLoader] = Loader


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
    empty_ok: bool = True,
) -> M:
    """Read ``path`` as YAML into ``model``; raise ``error`` listing every problem at once.

    ``checks`` adds problems that need the whole document (cross references), each as a
    key path and a reason. Each problem reads ``file:line: key.path: reason``. A file with
    no document (empty, or comments only) is an error unless ``empty_ok``.
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
        if isinstance(exc, DuplicateKeyError):
            raise error(f"{where}: {reason}") from None
        raise error(f"{where}: not valid YAML: {reason}") from None
    if data is None:
        if not empty_ok:
            raise error(f"{what} {path} is empty: it declares nothing")
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
        root = yaml.compose(text, Loader=BASE_LOADER)  # the tree with lines, for the messages
        problems = [f"{path}:{_line_of(root, loc)}: {_dotted(loc)}: {msg}" for loc, msg in found]
        raise error(f"{what} {path} has {len(problems)} problem(s):", problems)
    assert result is not None
    return result


def located(path: Path, loc: Sequence[int | str], message: str) -> str:
    """``file:line: key.path: message`` for a place in a YAML file that loaded, for checks
    made later than loading (the file is read again for its lines)."""
    return located_all(path, [(loc, message)])[0]


def located_all(path: Path, problems: Sequence[Problem]) -> list[str]:
    """Each problem (key path, reason) as ``file:line: key.path: reason``, the file read
    once for the lines."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=BASE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        root = None
    return [f"{path}:{_line_of(root, loc)}: {_dotted(loc)}: {message}" for loc, message in problems]
