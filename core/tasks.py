"""Background tasks without a broker.

``enqueue("app.module.function", *ids)`` runs a task after the current
transaction commits, so the task always sees the rows the request wrote:

* ``TASKS_MODE="thread"`` (the default on a laptop): a daemon thread of the web
  process runs it, and closes its own database connections when done (a thread
  that leaves one open would hold an SQLite lock or a PostgreSQL session).
* ``TASKS_MODE="eager"`` (tests, commands): it runs inline, at once, in the
  caller's transaction, and an unexpected exception propagates (as Celery's
  eager mode with ``task_eager_propagates``), so a test sees a bug. Django's
  test transactions never commit: waiting for ``on_commit`` there would mean
  never running it.

Why no broker: ``make run`` must work on a laptop with nothing else installed.
The price is that a task dies with its process. Tasks therefore take ids only
and keep their state in the database (an import job's status and progress), and
``manage.py run_jobs`` picks up jobs that a restarted process left half done.
In production the same functions can be handed to Celery unchanged.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def _run(dotted_path: str, args: tuple[Any, ...]) -> None:
    try:
        import_string(dotted_path)(*args)
    except Exception:
        # The task records its own failure on its job row; this is the last resort.
        logger.exception("task %s%r failed", dotted_path, args)


def _run_in_thread(dotted_path: str, args: tuple[Any, ...]) -> None:
    try:
        _run(dotted_path, args)
    finally:
        connections.close_all()


def enqueue(dotted_path: str, *args: Any) -> None:
    """Run ``dotted_path(*args)`` after the current transaction commits. ``args``
    are ids (ints, strings): never model instances, which would be stale."""
    import_string(dotted_path)  # fail now, in the caller, on a typo
    mode = getattr(settings, "TASKS_MODE", "thread")
    if mode == "eager":
        import_string(dotted_path)(*args)
        return

    def start() -> None:
        threading.Thread(
            target=_run_in_thread, args=(dotted_path, args), name=f"task:{dotted_path}", daemon=True
        ).start()

    transaction.on_commit(start)
