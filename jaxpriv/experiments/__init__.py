"""Experiment runners: the main audit job and its attack-family registry."""

from jaxpriv.experiments._context import AuditContext
from jaxpriv.experiments._run import RunConfig
from jaxpriv.experiments._run import run_audit
from jaxpriv.experiments._suite import FAMILIES

__all__ = ["AuditContext", "FAMILIES", "RunConfig", "run_audit"]
