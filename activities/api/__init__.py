"""REST endpoints of the ME's work: activities (with their evidence), events,
maintenance plans with their visits, and leads.

Thin like ``institutions/api.py``: lists read the access policy's scoped
querysets (``org.access.visible_*``) and the activities selectors; a fetch by
id goes through ``get_<obj>_for_user`` (404 outside the scope, 403 for a
forbidden action); every write is an ``activities.services`` function. Ids in
a request body (institution, contact, ME, participants, visit, source
activity, assignee) are resolved only inside the caller's scope, so an id
outside it answers the same 400 as an id that does not exist.

Every list costs a fixed number of queries whatever its length: the joins and
prefetches are in ``views._activity_rows``, ``views._plan_rows`` and the lead
selector (asserted in ``activities/tests/test_api.py``).

``serializers`` shapes the responses, ``inputs`` parses request bodies and
query filters, ``views`` holds the viewsets registered in ``sinergi/urls.py``.
"""

from activities.api.views import ActivityViewSet, EventViewSet, LeadViewSet, MaintenancePlanViewSet

__all__ = ["ActivityViewSet", "EventViewSet", "LeadViewSet", "MaintenancePlanViewSet"]
