"""A strict parser for the small YAML subset the files in ``deploy/`` are written in.

PyYAML is not a project dependency, so the deploy tests parse the compose, Prometheus and Grafana
provisioning files with this. Supported: block mappings and sequences (``- key: v`` items too),
plain/single/double-quoted scalars, ``true/false/null``, ints and floats, one-line flow
sequences of scalars, ``{}``/``[]`` and comments. Anything else (anchors, aliases, tags, block
scalars, flow mappings, multiple documents, tabs, ``yes/no/on/off``) is an error naming the line,
so the files stay in a subset every YAML 1.1/1.2 parser reads the same way. When PyYAML happens
to be installed, the tests also check that it reads each file identically.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_AMBIGUOUS = {"yes", "no", "on", "off", "y", "n", "~"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


class YamlSubsetError(ValueError):
    """Input outside the supported subset, or malformed."""


def load(path: Path) -> Any:
    """Parse a file."""
    return loads(path.read_text(encoding="utf-8"), str(path))


def loads(text: str, source: str = "<string>") -> Any:
    """Parse a document."""
    lines: list[tuple[int, int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(f"{source}:{number}: tab in indentation")
        body = _strip_comment(raw, source, number).rstrip()
        if not body.strip():
            continue
        if body.strip() in {"---", "..."}:
            raise YamlSubsetError(f"{source}:{number}: multiple documents are not supported")
        indent = len(body) - len(body.lstrip(" "))
        lines.append((number, indent, body.strip()))
    if not lines:
        return None
    parser = _Parser(lines, source)
    value = parser.block(0, lines[0][1])
    if parser.pos != len(lines):
        number = lines[parser.pos][0]
        raise YamlSubsetError(f"{source}:{number}: unexpected indentation")
    return value


def _strip_comment(line: str, source: str, number: int) -> str:
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or line[i - 1] in " [,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    if quote:
        raise YamlSubsetError(f"{source}:{number}: unterminated quote")
    return line


class _Parser:
    def __init__(self, lines: list[tuple[int, int, str]], source: str) -> None:
        self.lines = lines
        self.pos = 0
        self.source = source

    def err(self, message: str, index: int | None = None) -> YamlSubsetError:
        number = self.lines[self.pos if index is None else index][0]
        return YamlSubsetError(f"{self.source}:{number}: {message}")

    def block(self, start: int, indent: int) -> Any:
        """The block beginning at line ``start`` (== self.pos), all of whose lines sit at ``indent``."""
        _, _, text = self.lines[start]
        if text == "-" or text.startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent: int) -> list[Any]:
        out: list[Any] = []
        while self.pos < len(self.lines):
            number, ind, text = self.lines[self.pos]
            if ind < indent:
                break
            if ind > indent:
                raise self.err("unexpected indentation")
            if not (text == "-" or text.startswith("- ")):
                break
            rest = text[1:].lstrip(" ")
            if not rest:
                self.pos += 1
                out.append(self.nested(indent))
            elif _mapping_key(rest) is not None:
                # "- key: value": a mapping whose keys line up with `key`.
                inner = indent + (len(text) - len(rest))
                self.lines[self.pos] = (number, inner, rest)
                out.append(self.mapping(inner))
            else:
                out.append(self.scalar(rest))
                self.pos += 1
        return out

    def mapping(self, indent: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self.pos < len(self.lines):
            _, ind, text = self.lines[self.pos]
            if ind < indent:
                break
            if ind > indent:
                raise self.err("unexpected indentation")
            if text.startswith("- "):
                break
            split = _mapping_key(text)
            if split is None:
                raise self.err(f"expected `key: value`, got {text!r}")
            key, rest = split
            if key in out:
                raise self.err(f"duplicate key {key!r}")
            self.pos += 1
            if rest:
                out[key] = self.scalar(rest, self.pos - 1)
            else:
                out[key] = self.nested(indent, allow_same_indent_sequence=True)
        return out

    def nested(self, indent: int, *, allow_same_indent_sequence: bool = False) -> Any:
        if self.pos >= len(self.lines):
            return None
        _, ind, text = self.lines[self.pos]
        is_seq = text == "-" or text.startswith("- ")
        if ind > indent or (allow_same_indent_sequence and ind == indent and is_seq):
            return self.block(self.pos, ind)
        return None

    def scalar(self, text: str, index: int | None = None) -> Any:
        if text[0] in "&*!|>{" and text != "{}":
            raise self.err(f"unsupported YAML construct {text[0]!r}", index)
        if text == "{}":
            return {}
        if text.startswith("["):
            if not text.endswith("]"):
                raise self.err("flow sequences must fit on one line", index)
            inner = text[1:-1].strip()
            return [self.scalar(part, index) for part in _split_flow(inner)] if inner else []
        if text[0] == '"':
            return _double_quoted(text, self.err("bad double-quoted string", index))
        if text[0] == "'":
            if len(text) < 2 or not text.endswith("'"):
                raise self.err("bad single-quoted string", index)
            return text[1:-1].replace("''", "'")
        if text.lower() in _AMBIGUOUS:
            raise self.err(f"ambiguous plain scalar {text!r}: quote it", index)
        if text in {"true", "false"}:
            return text == "true"
        if text == "null":
            return None
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
        if ": " in text or text.endswith(":") or " #" in text:
            raise self.err(f"plain scalar {text!r} needs quotes", index)
        return text


def _mapping_key(text: str) -> tuple[str, str] | None:
    """Split ``key: rest`` (key plain or quoted); None when the line is not a mapping entry."""
    if text[0] in "\"'":
        end = text.find(text[0], 1)
        if end < 0 or not text[end + 1 :].startswith(":"):
            return None
        key, after = text[1:end], text[end + 2 :]
    else:
        match = re.match(r"([A-Za-z0-9_.$/@+-][^:#]*?):( |$)", text)
        if match is None:
            return None
        key, after = match.group(1), text[match.end() :]
    if after and not after.startswith(" ") and text[0] in "\"'":
        return None
    return key, after.strip()


def _split_flow(inner: str) -> list[str]:
    parts: list[str] = []
    quote: str | None = None
    current = ""
    for ch in inner:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch == ",":
            parts.append(current.strip())
            current = ""
        elif ch in "[]{}":
            raise YamlSubsetError(f"nested flow collections are not supported: [{inner}]")
        else:
            current += ch
    parts.append(current.strip())
    return parts


def _double_quoted(text: str, error: YamlSubsetError) -> str:
    if len(text) < 2 or not text.endswith('"'):
        raise error
    body = text[1:-1]
    out: list[str] = []
    i = 0
    escapes = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "/": "/"}
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1 : i + 2]
            if nxt not in escapes:
                raise error
            out.append(escapes[nxt])
            i += 2
            continue
        if ch == '"':
            raise error
        out.append(ch)
        i += 1
    return "".join(out)
