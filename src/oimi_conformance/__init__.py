"""oimi-conformance: contract tests for the Oimi API and every gateway that speaks its protocols.

The public API is what the suites and users import; everything else is private.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .exceptions import ContractViolation, HarnessError, TransportFault, UsageError
from .kinds import Kind, Verdict, get_kind, judge, kinds
from .violations import Violation

__all__ = [
    "ContractViolation",
    "HarnessError",
    "Kind",
    "TransportFault",
    "UsageError",
    "Verdict",
    "Violation",
    "__version__",
    "get_kind",
    "judge",
    "kinds",
]
