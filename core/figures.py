"""A signal for writes that bypass model signals (bulk updates, raw SQL): the
modules that keep derived figures (performance facts) listen to it, so lower
modules never import them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.dispatch import Signal

# kwargs: pairs — (branch id, a date in the month) whose counted records changed;
# or branches — branch ids whose every month may have changed.
records_changed = Signal()


def changed(pairs: Iterable[tuple[int | None, Any]] = (), branches: Iterable[int] = ()) -> None:
    records_changed.send(sender=None, pairs=list(pairs), branches=list(branches))
