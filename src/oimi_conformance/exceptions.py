"""The harness's exception tree.

    HarnessError
    ├── TransportFault      the gateway was unreachable, too slow, or cut the stream  -> an *error* outcome
    ├── ContractViolation   the gateway answered but broke the contract               -> a *fail* outcome
    └── UsageError          bad settings, unknown kind, unreadable profile            -> exit code 2

Transport faults and contract violations are kept apart so a report never blames
the contract for a network problem, nor the network for a contract breach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .violations import Violation


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class TransportFault(HarnessError):
    """Raised when no complete answer could be read: refused, reset, timed out, stalled or truncated."""


class UsageError(HarnessError, ValueError):
    """Raised when the user asked for something the harness cannot do (unknown kind, bad option)."""


class ContractViolation(HarnessError, AssertionError):
    """Raised by a check when the gateway's answer breaks a rule of the contract.

    Carries the structured violations so reports can show each rule, pointer and spec reference.
    """

    def __init__(self, message: str, violations: list[Violation] | None = None) -> None:
        super().__init__(message)
        self.violations: list[Violation] = list(violations or [])
