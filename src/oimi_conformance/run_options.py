"""The options of a run, shared by every way in: the command line (``oimi-conformance run``, ``matrix``,
``fuzz``) and plain pytest (``pytest suites --base-url ...``) read the same ``RUN_OPTIONS`` into one
``Options``, and ``check_options`` refuses what a run cannot use before anything starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import UsageError

MODELS_THRESHOLD = 500  # listed models planned without --models or --max-models (planning must stay bounded)


@dataclass
class Options:
    base_url: str | None = None
    api_key: str | None = None
    models: list[str] | None = None
    profile: str | None = None  # None: oimi, or in a replay the profile the recording was judged with
    expectations: str | None = None
    concurrency: int = 8
    timeout: float = 30.0
    max_requests: int | None = None
    checks: list[str] | None = None
    exclude_checks: list[str] | None = None
    cases: list[str] | None = None
    extra_keys: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    report_dir: str = "reports/latest"
    sandbox_deviations: list[str] = field(default_factory=list)
    sandbox_mode: str = "new-api"  # the embedded sandbox plays a healthy new-api (sandbox/modes.py)
    record_mode: str | None = None  # None: live without cassettes
    cassette_dir: str | None = None  # default cassettes/<target>
    dry_run: bool = False  # print the plan; send nothing (but GET /v1/models when --models is not given)
    sdk: bool = False  # also run the official SDK checks (area sdk), live
    strict_expectations: bool = False  # a passing check the expectations file lists as failing fails the run
    headers: list[str] = field(default_factory=list)  # --header 'Name: value', repeatable
    secret_headers: list[str] = field(default_factory=list)  # --secret-header NAME: redacted like a key
    shard: str | None = None  # --shard K/N: this job's share of the exchanges (shard.py)
    max_models: int | None = None  # take the first N models listed (a gateway may list 200,000)
    max_duration: float | None = None  # seconds for the whole run; what does not fit is reported unfinished
    no_follow_urls: bool = False  # never GET a URL an answer handed back (offline or firewalled runs)


# The run's options, shared by `oimi-conformance run` and the pytest plugin: (flag, argparse/pytest kwargs).
# pytest-timeout owns --timeout, so under pytest it is --oimi-timeout.
RUN_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--base-url", {"help": "gateway base URL; without it the embedded sandbox gateway is started"}),
    ("--api-key", {"help": "API key (default: $OIMI_API_KEY); never printed or stored"}),
    ("--models", {"help": "comma-separated model ids (default: discover with GET /v1/models)"}),
    ("--profile", {"help": "profile name or TOML file (default: oimi; a replay: the recording's)"}),
    ("--expectations", {"help": "expectations name or TOML file: known deviations of this target"}),
    ("--concurrency", {"type": int, "default": 8, "help": "exchanges in flight at once (default: 8)"}),
    ("--timeout", {"type": float, "default": 30.0, "help": "seconds of silence before a read fails (default 30)"}),
    ("--max-requests", {"type": int, "help": "hard budget of requests for the whole run"}),
    ("--max-models", {"type": int, "help": "probe at most the first N models GET /v1/models lists (needed above "
                                           f"{MODELS_THRESHOLD} when --models is not given)"}),
    ("--max-duration", {"type": float, "help": "seconds for the whole run: what is not done by then is reported "
                                               "unfinished (skipped), and the reports are written"}),
    ("--checks", {"help": "comma-separated check ids or globs (default: all)"}),
    ("--exclude-checks", {"help": "comma-separated check ids or globs to leave out"}),
    ("--cases", {"help": "comma-separated case ids or globs (default: all)"}),
    ("--no-quota-key", {"help": "a key without quota, for the negative path"}),
    ("--rate-limited-key", {"help": "a rate-limited key, for the 429 path"}),
    ("--restricted-key", {"help": "a key not allowed the models under test"}),
    ("--report-dir", {"default": "reports/latest", "help": "where results.json goes (default: reports/latest)"}),
    ("--target-name", {"help": "the target's name in reports"}),
    ("--sandbox-mode", {"choices": ["new-api", "reference"], "default": "new-api",
                        "help": "with the embedded sandbox: new-api (default: a healthy Oimi, as new-api really "
                                "behaves) or reference (the protocol references' ideal gateway)"}),
    ("--sandbox-deviation", {"action": "append", "default": [],
                             "help": "with the embedded sandbox: switch on a named deviation (repeatable)"}),
    ("--record-mode", {"choices": ["once", "new_episodes", "all", "none"],
                       "help": "cassettes, as vcrpy's modes: none = replay only, offline; all = record everything"}),
    ("--cassette-dir", {"help": "the cassette folder (default: cassettes/<target name>)"}),
    ("--dry-run", {"action": "store_true", "default": False,
                   "help": "print the plan (cells, requests) and exit 0; nothing is sent but the one GET /v1/models "
                           "that discovers the models, and not even that with --models"}),
    ("--sdk", {"action": "store_true", "default": False,
               "help": "also drive the official SDKs (openai, anthropic, google-genai) against the target; live only"}),
    ("--header", {"action": "append", "default": [], "metavar": "'NAME: VALUE'",
                  "help": "send this header with every request (repeatable; also $OIMI_HEADERS, one per line, and a "
                          "profile's [headers] table); e.g. --header 'x-portkey-config: {...}'"}),
    ("--secret-header", {"action": "append", "default": [], "metavar": "NAME",
                         "help": "that --header's value is a secret: redacted like the key everywhere (repeatable)"}),
    ("--shard", {"metavar": "K/N",
                 "help": "send only share K of N (by case and model, deterministic); combine the N report dirs "
                         "with `oimi-conformance merge`"}),
    ("--strict-expectations", {"action": "store_true", "default": False,
                               "help": "a check that passes although the expectations file lists it as a known "
                                       "failure fails the run (the target changed: update the file)"}),
    ("--no-follow-urls", {"action": "store_true", "default": False,
                          "help": "never GET a URL an answer hands back (an image url); its checks are skipped"}),
)


def options_from(get: Any) -> Options:
    """Options from a lookup by destination name (argparse's namespace or pytest's getoption)."""
    return Options(
        base_url=get("base_url"), api_key=get("api_key"), models=split_list(get("models")),
        profile=get("profile"), expectations=get("expectations"), concurrency=get("concurrency"),
        timeout=get("timeout"), max_requests=get("max_requests"), checks=split_list(get("checks")),
        exclude_checks=split_list(get("exclude_checks")), cases=split_list(get("cases")),
        extra_keys={role: get(role.replace("-", "_") + "_key") for role in ("no-quota", "rate-limited", "restricted")
                    if get(role.replace("-", "_") + "_key")},
        target=get("target_name"), report_dir=get("report_dir"),
        sandbox_deviations=list(get("sandbox_deviation") or []),
        sandbox_mode=_optional(get, "sandbox_mode") or "new-api",
        record_mode=get("record_mode"), cassette_dir=get("cassette_dir"), dry_run=bool(_optional(get, "dry_run")),
        sdk=bool(_optional(get, "sdk")), strict_expectations=bool(_optional(get, "strict_expectations")),
        headers=list(_optional(get, "header") or []), secret_headers=list(_optional(get, "secret_header") or []),
        shard=_optional(get, "shard"),
        max_models=_optional(get, "max_models"), max_duration=_optional(get, "max_duration"),
        no_follow_urls=bool(_optional(get, "no_follow_urls")),
    )


def _optional(get: Any, name: str) -> Any:
    """An option a caller's parser may not define (a command built before the option existed)."""
    try:
        return get(name)
    except (AttributeError, ValueError):
        return None


def split_list(value: Any) -> list[str] | None:
    if not value:
        return None
    items = value if isinstance(value, list) else [value]
    out = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    return out or None


def check_options(opts: Options) -> None:
    """Every option a run cannot use is one line and exit 2, before anything is sent."""
    for name, minimum in (("concurrency", 1), ("max_requests", 1), ("max_models", 1)):
        value = getattr(opts, name, None)
        if value is not None and value < minimum:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {minimum}, got {value}")
    for name in ("timeout", "max_duration"):
        value = getattr(opts, name, None)
        if value is not None and not value > 0:  # also NaN
            raise UsageError(f"--{name.replace('_', '-')} must be a positive number of seconds, got {value}")
    if opts.sandbox_deviations:
        from .sandbox.deviations import DEVIATION_NAMES

        unknown = sorted(set(opts.sandbox_deviations) - set(DEVIATION_NAMES))
        if unknown:
            raise UsageError(f"unknown sandbox deviation(s): {', '.join(unknown)}; "
                             "see `oimi-conformance sandbox --list-deviations`")
    if opts.cases:
        import fnmatch

        from .cases import load_cases

        ids = [c.id for c in load_cases()]
        unmatched = [p for p in opts.cases if not any(fnmatch.fnmatchcase(i, p) for i in ids)]
        if unmatched:
            raise UsageError(f"no case matches {', '.join(unmatched)}; the case ids are in specs/cases/*.yaml")
    if not opts.dry_run and opts.report_dir:
        check_report_dir(Path(opts.report_dir))


def check_report_dir(report_dir: Path) -> None:
    """The report folder can be written: found now, not after every request was sent."""
    if report_dir.exists() and not report_dir.is_dir():
        raise UsageError(f"--report-dir {report_dir} is a file, not a folder")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        probe = report_dir / ".oimi-conformance-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--report-dir {report_dir} cannot be written: {exc.strerror or exc}") from None
