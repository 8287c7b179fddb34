"""The attack families that ``jaxpriv run`` runs, in order.

Each entry names a module with ``run(ctx: AuditContext) -> list[dict]``; every
returned dict is one row of the results table and carries at least
``family``, ``attack``, ``target`` ("undefended" or "defended") and the
metrics of that attack. Families added by later work append one line here.
"""

from __future__ import annotations

import importlib

FAMILIES: dict[str, str] = {
    "inversion": "jaxpriv.experiments.suite_inversion",
    "extraction": "jaxpriv.experiments.suite_extraction",
    "membership": "jaxpriv.experiments.suite_membership",
    "leakage": "jaxpriv.experiments.suite_leakage",
    "evasion": "jaxpriv.experiments.suite_evasion",
}


def family_runner(name: str):
    """The ``run`` function of a registered family."""
    if name not in FAMILIES:
        raise ValueError(f"Unknown attack family {name!r}; known: {', '.join(FAMILIES)}.")
    return importlib.import_module(FAMILIES[name]).run
