"""Switchable, seeded fault injection shared by the emulators (``sandbox.faults``).

README.md#faults (in server/sandbox) is the reference: kinds, the Python API and the HTTP
control routes, which ``server.sandbox.control`` serves.
"""

from server.sandbox.faults.plan import FaultPlan
from server.sandbox.faults.rules import KINDS, Fault, FaultRule
from server.sandbox.faults.serving import FaultInjected, abort_connection

__all__ = [
    "KINDS",
    "Fault",
    "FaultInjected",
    "FaultPlan",
    "FaultRule",
    "abort_connection",
]
