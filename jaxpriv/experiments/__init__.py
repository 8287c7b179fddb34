"""Experiment runners: the main audit job, its config and its attack-family registry."""

from jaxpriv.experiments._config import DefenseSetting
from jaxpriv.experiments._config import RunConfig
from jaxpriv.experiments._config import config_from_dict
from jaxpriv.experiments._config import default_toml
from jaxpriv.experiments._config import load_config
from jaxpriv.experiments._context import AuditContext
from jaxpriv.experiments._run import run_audit
from jaxpriv.experiments._suite import FAMILIES

__all__ = [
    "AuditContext",
    "DefenseSetting",
    "FAMILIES",
    "RunConfig",
    "config_from_dict",
    "default_toml",
    "load_config",
    "run_audit",
]
