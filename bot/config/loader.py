"""Loading the configuration: defaults < TOML file < ``ROTOR__SECTION__KEY`` environment
(``_FILE`` for secrets) < CLI overrides; errors name the full key path and the reason."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.config.models import CONFIG_ENV, ENV_PREFIX, Settings


class ConfigError(Exception):
    """A configuration problem; ``errors`` are ``key.path: reason`` lines."""

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        self.errors = errors
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("invalid configuration\n" + "\n".join(f"  {prefix}{e}" for e in errors))


_SECRET_WORDS = ("key", "secret", "token", "password", "url")


def _describe(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "<root>"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required"
    msg = str(err["msg"])
    if kind == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        if ": " in msg and loc == "<root>":
            return msg
    got = err.get("input")
    # Never echo the value of a secret (or a URL that may carry a password) back.
    secret = any(word in loc.lower() for word in _SECRET_WORDS)
    shown = "" if isinstance(got, dict | list) or got is None or secret else f" (got {got!r})"
    return f"{loc}: {msg}{shown}"


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """``ROTOR__SECTION__KEY=value`` → nested dict; ``..._FILE`` reads the value from a file.

    A key set both ways (``ROTOR__DATABASE__URL`` and ``ROTOR__DATABASE__URL_FILE``) is an
    error naming both variables: silently keeping one of them once made a container run on
    SQLite while compose had handed it a PostgreSQL URL.
    """
    layer: dict[str, Any] = {}
    given_by: dict[tuple[str, ...], str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        value: Any = raw
        # ``KEY_FILE`` reads KEY from a file (Docker secrets), unless KEY_FILE is itself a
        # real setting (e.g. ``execution.kill_file``).
        if path[-1].endswith("_file") and not _is_field(path):
            file = Path(raw)
            try:
                value = file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    [f"{'.'.join(path)}: cannot read secret file {file}: {exc}"], name
                ) from exc
            path[-1] = path[-1][: -len("_file")]
        other = given_by.setdefault(tuple(path), name)
        if other != name:
            raise ConfigError(
                [f"{'.'.join(path)}: given twice, by {other} and {name}; set only one of them"]
            )
        node = layer
        for p in path[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError([f"{'.'.join(path)}: conflicts with another variable"], name)
        node[path[-1]] = _parse_env_value(value)
    return layer


def _is_field(path: list[str]) -> bool:
    """True when ``path`` names a setting in the model (e.g. ``["execution", "kill_file"]``)."""
    model: type[BaseModel] = Settings
    for i, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return False
        ann = field.annotation
        if i == len(path) - 1:
            return True
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return False
        model = ann
    return False


def _parse_env_value(raw: str) -> Any:
    """Env values are strings; lists may be given as JSON or comma-separated."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        import json

        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError([f"config file not found: {path}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from exc
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc}"], str(path)) from exc


def config_path(
    explicit: Path | str | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return None


def load_settings(
    path: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective ``Settings`` from defaults, file, environment and CLI overrides.

    ``overrides`` uses dotted keys (``{"risk.leverage": 5}``) or nested dicts.
    Raises ``ConfigError`` naming every bad key path.
    """
    env = os.environ if environ is None else environ
    file = config_path(path, env)
    layers: list[tuple[str, dict[str, Any]]] = []
    if file is not None:
        layers.append((str(file), read_toml(file)))
    layers.append(("environment", _env_layer(env)))
    if overrides:
        layers.append(("command line", _expand_dotted(overrides)))
    merged: dict[str, Any] = {}
    for _, layer in layers:
        merged = _deep_merge(merged, layer)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        errors = [_describe(e) for e in exc.errors()]
        raise ConfigError(errors, str(file) if file else None) from None


def _expand_dotted(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def iter_keys(
    model: type[BaseModel] = Settings, prefix: str = ""
) -> Iterator[tuple[str, Any, str]]:
    """Yield ``(key.path, default, description)`` for every leaf key (used by the README test)."""
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_keys(ann, f"{prefix}{name}.")
        else:
            default = field.get_default(call_default_factory=True)
            yield f"{prefix}{name}", default, field.description or ""
