"""``oimi-conformance sandbox``: serve the sandbox gateway on loopback until Ctrl-C.

Exit 0: stopped; 2: usage error (unknown deviation, bad or busy port).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..exceptions import UsageError
from ..exits import EXIT_OK


def add_parser(subparsers: Any) -> None:
    s = subparsers.add_parser("sandbox", help="serve the sandbox gateway on loopback")
    s.add_argument("--port", type=int, default=8787)
    s.add_argument("--mode", choices=["new-api", "reference"], default="new-api",
                   help="new-api (default): behave as a healthy new-api does; reference: the protocol references' "
                        "ideal gateway (e.g. as the providers' upstream behind a real gateway)")
    s.add_argument("--deviation", action="append", help="switch on a named deviation (repeatable)")
    s.add_argument("--latency-ms", type=float, default=0.0, help="injected latency per request")
    s.add_argument("--extra-models", type=int, default=0,
                   help="add N clones of sandbox-omni (sandbox-omni-01...), e.g. for a matrix benchmark")
    s.add_argument("--list-deviations", action="store_true", help="list the deviations and exit")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sandbox.deviations import DEVIATIONS
    from ..sandbox.server import SandboxConfig, serve_forever

    if args.list_deviations:
        for dev in DEVIATIONS:
            print(f"{dev.name:40} {dev.family:12} {dev.description}")
        return EXIT_OK
    try:
        config = SandboxConfig(deviations=frozenset(args.deviation or []), mode=args.mode,
                               latency_s=args.latency_ms / 1000,
                               extra_models=args.extra_models)
    except ValueError as exc:
        raise UsageError(str(exc).split(". Allowed")[0] + "; see `oimi-conformance sandbox --list-deviations`"
                         ) from None
    if not 0 < args.port <= 65535:
        raise UsageError(f"--port must be from 1 to 65535, got {args.port}")
    _check_port_free(args.port)  # before saying where it serves
    print(f"sandbox gateway ({args.mode}) on http://127.0.0.1:{args.port} (key sk-sandbox-valid); Ctrl-C stops it",
          flush=True)
    try:
        serve_forever(config, port=args.port)
    except OSError as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc} (choose another --port)"
                             ) from None
