"""An in-memory Jira Service Management for tests, benchmarks and the demo (`deskgate jsm-sandbox`).

It serves the operations `deskgate.jsm.JsmClient` uses, shaped as the OpenAPI contract in
`tests/contract/jsm/` says (the contract tests check both sides of every call), in the Cloud or the Data
Center flavour, with demo data (`seed`) and fault injection (`faults`).
"""

from deskgate.jsm.emulator.app import EmulatorApp, ServiceAccountCredentials, create_emulator
from deskgate.jsm.emulator.faults import FaultPlan

__all__ = ["EmulatorApp", "FaultPlan", "ServiceAccountCredentials", "create_emulator"]
