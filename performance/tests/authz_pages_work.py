"""Authorisation-matrix entries for the performance pages (collected by tests/test_authz_matrix.py)."""

from __future__ import annotations

from tests.authz import Endpoint

ENDPOINTS: list[Endpoint] = []
