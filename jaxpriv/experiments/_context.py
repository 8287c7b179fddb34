"""What every attack family of the audit receives: the trained target and its data.

The family contract: ``run(ctx: AuditContext) -> list[dict]``, called once per
``[[defended]]`` setting of the run. Each dict is one row of the results table:

- ``attack`` (name) and ``target`` (``"undefended"`` or ``"defended"``) are
  required; ``family`` defaults to the family's name; the run adds ``run``,
  ``dataset``, ``model``, ``defense`` and ``target_test_accuracy``;
- scalar metrics (higher: a stronger attack, unless the name says otherwise);
- optional ``headline``: the metric the privacy-utility plot uses (else the
  first of ``jaxpriv.report.HEADLINE_METRICS`` present);
- optional ``roc = {"fpr": [...], "tpr": [...]}``: drawn as a log-log ROC curve;
- optional ``images = [{"title": ..., "path": ...}]``: PNGs the family wrote,
  paths relative to ``ctx.out_dir`` (any other PNG it writes there is shown too).

Lists and dicts stay in ``results.json``; the CSV table keeps the scalars.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Callable

import jax

from jaxpriv.data import Dataset, Split
from jaxpriv.models import Model
from jaxpriv.oracles import Defense, Oracle


@dataclasses.dataclass
class AuditContext:
    """The audit's shared state, handed to each attack family's ``run(ctx)``.

    Attributes:
      key: PRNG key for this family (already folded with its name).
      dataset: the full data set.
      split: member / non-member / test indices into ``dataset``.
      model: the target architecture.
      params: the trained target's parameters (undefended training).
      defended_params: parameters of the target trained with the training-time
        defence under study (``None`` when the run has none).
      defenses: the output defences under study (the oracle applies them).
      train_config, hyper: how the target was trained (shadow models copy them).
      out_dir: where the family may write pictures (PNG) and extra files.
      smoke: tiny sizes for tests.
      progress: show progress bars.
      extra: free-form extras (family options).
      defense_name: label of the defended setting in this context (the run
        calls each family once per ``[[defended]]`` setting; rows of the
        undefended target are kept from the first call only).
    """

    key: jax.Array
    dataset: Dataset
    split: Split
    model: Model
    params: Any
    defended_params: Any
    defenses: tuple[Defense, ...]
    train_config: Any
    hyper: Any
    out_dir: pathlib.Path
    smoke: bool = False
    progress: bool = True
    extra: dict = dataclasses.field(default_factory=dict)
    defense_name: str = "defended"

    def oracle(self, *, defended: bool = False, budget: int | None = None,
               output_defenses: bool | None = None) -> Oracle:
        """A fresh oracle over the target (or the defended target).

        Output defences are applied when ``output_defenses`` is True; by
        default they are applied exactly when ``defended`` is True.
        """
        params = self.defended_params if defended and self.defended_params is not None \
            else self.params
        use_out = defended if output_defenses is None else output_defenses
        return Oracle.from_model(
            self.model.apply, params, defenses=self.defenses if use_out else (),
            budget=budget, input_shape=(self.dataset.num_features,),
            key=jax.random.fold_in(self.key, 7), name="target")

    @property
    def members(self) -> Dataset:
        return self.dataset.subset(self.split.members)

    @property
    def nonmembers(self) -> Dataset:
        return self.dataset.subset(self.split.nonmembers)

    @property
    def test(self) -> Dataset:
        return self.dataset.subset(self.split.test)

    @property
    def apply_fn(self) -> Callable:
        return self.model.apply
