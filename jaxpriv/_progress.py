"""Progress bars (tqdm) that can be switched off."""

from __future__ import annotations

import contextlib
import sys

from tqdm.auto import tqdm


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *a, **k):
        pass

    def set_description(self, *a, **k):
        pass


@contextlib.contextmanager
def progress_bar(total: int, desc: str, enabled: bool = True):
    """A tqdm bar with ETA on stderr, or a no-op when disabled."""
    if not enabled:
        yield _NoBar()
        return
    with tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True,
              mininterval=0.5) as bar:
        yield bar
