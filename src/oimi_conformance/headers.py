"""Extra request headers a gateway needs beside the key (``x-portkey-config``, ``cf-aig-authorization``,
``HTTP-Referer``, Azure's ``api-key``...): from a profile's ``[headers]`` table, the ``OIMI_HEADERS``
environment variable and repeated ``--header 'Name: value'``, later sources winning per name.

A header named by ``--secret-header NAME`` is a secret like the key: its value joins the run's secrets
(redacted in every record, report, curl line and cassette) and its name is redacted by name. A header
that would replace a credential a case sets itself (``Authorization``, ``x-api-key``, ``x-goog-api-key``)
is refused: the auth cases send wrong and missing credentials on purpose, and an override would make
every one of them send the same thing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from .exceptions import UsageError

ENV_VAR = "OIMI_HEADERS"
# RFC 9110 token characters: what a field name may hold
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@cache
def credential_headers() -> frozenset[str]:
    """The header names that carry a key in some credential style of specs/auth.yaml (lower case)."""
    from .plan import auth_spec

    spec = auth_spec()
    names = set()
    for style in [*spec["styles"].values(), *spec["negative"].values()]:
        for name, value in (style.get("headers") or {}).items():
            if "{key}" in str(value) or name.lower() == "authorization":
                names.add(name.lower())
    return frozenset(names)


def parse_header(text: str, source: str) -> tuple[str, str]:
    """``Name: value`` -> (name, value); a name that is not an HTTP token, or no colon, is a usage error."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _TOKEN.match(name):
        raise UsageError(f"{source}: {text.split(':', 1)[0]!r} is not a header: write 'Name: value'")
    if "\n" in value or "\r" in value:
        raise UsageError(f"{source}: the value of {name} holds a line break")
    return name, value


def parse_env(value: str | None) -> list[tuple[str, str]]:
    """``OIMI_HEADERS``: one ``Name: value`` per line (a value may hold commas and semicolons)."""
    return [parse_header(line, ENV_VAR) for line in (value or "").splitlines() if line.strip()]


@dataclass(frozen=True)
class ExtraHeaders:
    """The headers added to every request of a run, and which of them are secrets."""

    values: Mapping[str, str] = field(default_factory=dict)  # as the user spelt the names
    secret_names: frozenset[str] = frozenset()  # lower case

    @property
    def secrets(self) -> list[str]:
        from .redact import REDACTED

        # a replay's recorded secret holds the placeholder, not a secret
        return [v for k, v in self.values.items() if k.lower() in self.secret_names and v and REDACTED not in v]

    def __bool__(self) -> bool:
        return bool(self.values)

    def lower_names(self) -> frozenset[str]:
        return frozenset(k.lower() for k in self.values)

    def applied(self, case_headers: Mapping[str, str], where: str) -> dict[str, str]:
        """The request's headers: these extra ones, then the case's own (a case probing a header wins),
        refusing an extra header that would replace a credential the case sets."""
        own = {k.lower() for k in case_headers}
        clash = sorted(k for k in self.values if k.lower() in own and k.lower() in credential_headers())
        if clash:
            raise UsageError(f"--header {clash[0]} would replace the credential {where} sends itself; "
                             "pass the key with --api-key instead")
        out = {k: v for k, v in self.values.items() if k.lower() not in own}
        out.update(case_headers)
        return out

    def redacted(self) -> dict[str, str]:
        """The headers as a report or _run.json may show them: secret values replaced."""
        from .redact import Redactor

        # as the exchanges record them (``Bearer REDACTED``), so a replay sending these matches its cassettes
        shown = Redactor(self.secrets, self.secret_names).headers(self.values)
        return {k: shown[k.lower()] for k in self.values}


def collect(profile: Mapping[str, str] | None = None, cli: Iterable[str] | None = None,
            secret: Iterable[str] | None = None, env: Mapping[str, str] | None = None) -> ExtraHeaders:
    """The run's extra headers: the profile's table, then $OIMI_HEADERS, then each --header."""
    environ = os.environ if env is None else env
    merged: dict[str, str] = {}

    def put(name: str, value: str) -> None:
        for old in [k for k in merged if k.lower() == name.lower()]:
            del merged[old]
        merged[name] = value

    for name, value in (profile or {}).items():
        put(*parse_header(f"{name}: {value}", "profile [headers]"))
    for name, value in parse_env(environ.get(ENV_VAR)):
        put(name, value)
    for text in cli or ():
        put(*parse_header(text, "--header"))
    credentials = sorted(k for k in merged if k.lower() in credential_headers())
    if credentials:
        raise UsageError(f"header {credentials[0]} carries the key in the auth cases, which send it themselves "
                         "(wrong, missing, in another scheme); pass the key with --api-key instead")
    secret_names = frozenset(s.strip().lower() for s in secret or () if s.strip())
    unknown = sorted(secret_names - {k.lower() for k in merged})
    if unknown:
        raise UsageError(f"--secret-header {unknown[0]}: no such header (add it with --header or OIMI_HEADERS)")
    return ExtraHeaders(merged, secret_names)
