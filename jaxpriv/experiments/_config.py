"""The main job's configuration: ``RunConfig`` and its TOML form.

A config file is TOML whose top-level keys are ``RunConfig`` fields, plus:

- ``[[defended]]``: one table per defended target (``name``, ``l2``, ``output``);
- ``[extra_families]``: ``name = "module"`` or ``"module:function"`` attack
  families from outside the package (a research prototype, a test);
- ``[smoke]``: overrides applied with ``--smoke`` (tiny sizes for CI).

Unknown keys are errors that list the known ones. ``default_toml()`` renders
every option with its default and documentation (``configs/default.toml`` is
that text; ``jaxpriv run --print-config`` prints it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import tomllib
from typing import Any

from jaxpriv import _validate, data, models, oracles
from jaxpriv.experiments import _suite


@dataclasses.dataclass(frozen=True, kw_only=True)
class DefenseSetting:
    """One defended target: training-time L2 plus output defences on its oracle.

    Attributes:
      name: label in tables and plots (default: built from the settings,
        e.g. ``"l2=0.01+round(1)"``).
      l2: L2 loss penalty ``l2/2 |w|^2`` of the defended target's training
        (0: the undefended weights, only output defences differ).
      output: output defences of its oracle, applied in order, as
        ``jaxpriv.oracles.parse_defense`` specs (``"round:2"``, ``"top_k:1"``,
        ``"label_only"``, ``"temperature:5"``, ``"gaussian_noise:0.01"``).
    """

    name: str = ""
    l2: float = 1e-2
    output: tuple[str, ...] = ("round:1",)

    def __post_init__(self):
        _validate.positive("defended.l2", self.l2, allow_zero=True)
        if isinstance(self.output, str):
            raise ValueError(f"Expected defended.output to be a list of defence specs; got "
                             f"the string {self.output!r} (write [{self.output!r}]).")
        for spec in self.output:
            oracles.parse_defense(spec)
        if not self.name:
            parts = ([f"l2={self.l2:g}"] if self.l2 else []) + [
                oracles.parse_defense(s).name for s in self.output]
            object.__setattr__(self, "name", "+".join(parts) or "none")

    @property
    def defenses(self) -> tuple[oracles.Defense, ...]:
        return tuple(oracles.parse_defense(s) for s in self.output)


# Every option of RunConfig with its documentation (rendered into default_toml()).
OPTION_DOCS: dict[str, str] = {
    "dataset": "data set, one of jaxpriv.data.DATASETS; digits ships with scikit-learn",
    "data_dir": "folder with the shared data sets; empty: $JAXPRIV_DATA",
    "max_rows": "use at most this many rows (a random subset); 0: all",
    "model": "target architecture, one of jaxpriv.models.MODELS",
    "hidden": "hidden widths of mlp / dae",
    "activation": "mlp activation (relu, tanh, sigmoid, gelu, identity)",
    "epochs": "training epochs of the target(s)",
    "batch_size": "training minibatch size",
    "learning_rate": "Adam step size",
    "member_fraction": "share of rows in the target's training set (the members)",
    "nonmember_fraction": "share of rows held out as non-members (the rest is test data)",
    "families": "attack families to run; empty: every registered one",
    "seed": "root PRNG seed (same seed, same results)",
    "table": "CSV table that accumulates rows across runs; empty: <out>/results.csv",
    "progress": "progress bars with ETA on stderr",
}

SMOKE_DEFAULTS: dict[str, Any] = {"max_rows": 400, "epochs": 3, "hidden": [32]}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Settings of ``jaxpriv run``; every field has a default (see ``OPTION_DOCS``).

    Attributes:
      dataset, data_dir, max_rows: the data (``max_rows=0``: all rows).
      model, hidden, activation: the target architecture.
      epochs, batch_size, learning_rate: target training (Adam).
      member_fraction, nonmember_fraction: shares of rows for the target's
        training set and the held-out non-members (the rest is test data).
      defended: the defended targets; each attack family runs against the
        undefended target and every defended one.
      families: attack families to run (``()``: all registered in ``FAMILIES``).
      extra_families: ``(name, "module[:function]")`` pairs added to the registry.
      seed: the root PRNG seed.
      table: path of the cross-run CSV table (``""``: ``<out>/results.csv``).
      smoke: tiny sizes (tests, CI); families see it as ``ctx.smoke``.
      progress: show progress bars.

    Example:
      >>> config = load_config("configs/default.toml", smoke=True)
    """

    dataset: str = "digits"
    data_dir: str = ""
    max_rows: int = 0
    model: str = "mlp"
    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    member_fraction: float = 0.4
    nonmember_fraction: float = 0.3
    defended: tuple[DefenseSetting, ...] = (DefenseSetting(),)
    families: tuple[str, ...] = ()
    extra_families: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    table: str = ""
    smoke: bool = False
    progress: bool = True

    def __post_init__(self):
        _validate.one_of("dataset", self.dataset, data.DATASETS)
        _validate.one_of("model", self.model, models.MODELS)
        _validate.one_of("activation", self.activation, models.ACTIVATIONS)
        _validate.positive("max_rows", self.max_rows, allow_zero=True)
        _validate.positive("epochs", self.epochs)
        _validate.positive("batch_size", self.batch_size)
        _validate.positive("learning_rate", self.learning_rate)
        if not self.hidden or any(int(h) != h or h < 1 for h in self.hidden):
            raise ValueError(f"Expected hidden to be a non-empty list of widths >= 1; "
                             f"got {list(self.hidden)}.")
        _validate.in_range("member_fraction", self.member_fraction, 0.01, 0.98)
        _validate.in_range("nonmember_fraction", self.nonmember_fraction, 0.0, 0.98)
        if self.member_fraction + self.nonmember_fraction >= 1.0:
            raise ValueError(
                "Expected member_fraction + nonmember_fraction < 1 (the rest is test data);"
                f" got {self.member_fraction} + {self.nonmember_fraction}.")
        if not self.defended:
            raise ValueError("Expected at least one [[defended]] setting (each family attacks "
                             "the undefended target and every defended one); got none.")
        for d in self.defended:
            if not isinstance(d, DefenseSetting):
                raise ValueError(f"Expected defended to hold DefenseSetting values; got "
                                 f"{type(d).__name__}.")
        names = [d.name for d in self.defended]
        if len(set(names)) != len(names) or "none" in names:
            raise ValueError(f"Expected distinct defended names other than 'none'; got {names}.")
        for name, target in self.extra_families:
            if not isinstance(target, str) or not target:
                raise ValueError(f"Expected extra_families.{name} to be 'module' or "
                                 f"'module:function'; got {target!r}.")
        for f in self.families:
            _validate.one_of("families", f, self.registry())

    def registry(self) -> dict[str, str]:
        """Attack families known to this run: ``FAMILIES`` plus ``extra_families``."""
        return {**_suite.FAMILIES, **dict(self.extra_families)}

    def family_names(self) -> tuple[str, ...]:
        return self.families or tuple(self.registry())

    def fingerprint(self) -> str:
        """Hash of everything that changes a unit's result (not which families
        run, where the table lives or whether bars show)."""
        d = dataclasses.asdict(self)
        for k in ("families", "extra_families", "table", "progress"):
            d.pop(k)
        blob = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
_TOP_KEYS = tuple(k for k in _FIELDS if k != "smoke") + ("smoke",)
_DEFENDED_KEYS = tuple(f.name for f in dataclasses.fields(DefenseSetting))


def _coerce(where: str, key: str, value: Any) -> Any:
    field = _FIELDS[key]
    default = field.default if field.default is not dataclasses.MISSING else None
    if key == "defended":
        if not isinstance(value, list):
            raise ValueError(f"Expected {where}defended to be an array of tables "
                             f"([[defended]]); got {value!r}.")
        out = []
        for i, t in enumerate(value):
            if not isinstance(t, dict):
                raise ValueError(f"Expected {where}defended[{i}] to be a table; got {t!r}.")
            _validate.known_keys(f"{where}defended[{i}]", t, _DEFENDED_KEYS)
            t = dict(t)
            if "output" in t and isinstance(t["output"], list):
                t["output"] = tuple(t["output"])
            out.append(DefenseSetting(**t))
        return tuple(out)
    if key == "extra_families":
        if not isinstance(value, dict):
            raise ValueError(f"Expected {where}extra_families to be a table name = "
                             f"'module'; got {value!r}.")
        return tuple(sorted(value.items()))
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ValueError(f"Expected {where}{key} to be a list; got {value!r}.")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"Expected {where}{key} to be true or false; got {value!r}.")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Expected {where}{key} to be an integer; got {value!r}.")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"Expected {where}{key} to be a number; got {value!r}.")
        value = float(value)
    elif isinstance(default, str) and not isinstance(value, str):
        raise ValueError(f"Expected {where}{key} to be a string; got {value!r}.")
    return value


def config_from_dict(table: dict[str, Any], *, smoke: bool = False,
                     overrides: dict[str, Any] | None = None) -> RunConfig:
    """Builds a ``RunConfig`` from a parsed TOML table.

    Args:
      table: top-level keys are ``RunConfig`` fields, plus optional ``smoke``
        (a table of overrides used when ``smoke`` is true).
      smoke: apply ``SMOKE_DEFAULTS`` and then the ``[smoke]`` table.
      overrides: final values (e.g. from command-line flags), in TOML types.
    """
    _validate.known_keys("the config", table, _TOP_KEYS)
    base = {k: v for k, v in table.items() if k != "smoke"}
    smoke_table = table.get("smoke", {})
    if not isinstance(smoke_table, dict):
        raise ValueError(f"Expected [smoke] to be a table; got {smoke_table!r}.")
    _validate.known_keys("[smoke]", smoke_table, tuple(k for k in _TOP_KEYS if k != "smoke"))
    merged = dict(base)
    if smoke:
        merged.update(SMOKE_DEFAULTS)
        merged.update(smoke_table)
    merged.update(overrides or {})
    _validate.known_keys("the overrides", merged, _TOP_KEYS)
    kw = {k: _coerce("smoke." if smoke and k in smoke_table else "", k, v)
          for k, v in merged.items()}
    return RunConfig(**kw, smoke=smoke)


def load_config(path: str | os.PathLike | None = None, *, smoke: bool = False,
                overrides: dict[str, Any] | None = None) -> RunConfig:
    """Reads a TOML config (``None``: the defaults) into a ``RunConfig``.

    Raises:
      FileNotFoundError: no file at ``path``.
      ValueError: invalid TOML, unknown keys (listing the known ones) or values.
    """
    table: dict[str, Any] = {}
    if path is not None:
        path = pathlib.Path(path)
        if not path.exists():
            raise FileNotFoundError(f"No config file at {path}.")
        try:
            table = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path} is not valid TOML: {e}.") from None
    return config_from_dict(table, smoke=smoke, overrides=overrides)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def default_toml() -> str:
    """Every option with its default value and documentation, as TOML."""
    d = RunConfig()
    lines = ["# jaxpriv run: every option with its default. Unknown keys are errors.",
             "# `jaxpriv run CONFIG.toml --out DIR`; `--smoke` applies [smoke].", ""]
    for name, doc in OPTION_DOCS.items():
        lines += [f"# {doc}", f"{name} = {_toml_value(getattr(d, name))}", ""]
    lines += ["# Defended targets: each attack family runs against the undefended target and",
              "# every [[defended]] one. name: label (default from the settings); l2: L2 loss",
              "# penalty l2/2 |w|^2 of its training (0: the undefended weights); output: output",
              "# defences of its oracle in order (round:D, top_k:K, label_only, temperature:T,",
              "# gaussian_noise:S, reverse_sigmoid:B,G)."]
    for s in d.defended:
        lines += ["[[defended]]", f"l2 = {_toml_value(s.l2)}",
                  f"output = {_toml_value(list(s.output))}", ""]
    lines += ["# Attack families from outside the package: name = \"module\" (its run(ctx))",
              "# or \"module:function\".", "[extra_families]", "",
              "# Overrides used with --smoke (tiny sizes for CI and tests).", "[smoke]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in SMOKE_DEFAULTS.items()]
    return "\n".join(lines) + "\n"
