"""Authorisation-matrix entries for the registry pages (collected by
tests/test_authz_matrix.py). The rules come from org/access.py: writers are
the Pinca/DBA/Wilayah/Pusat in scope and the ME on what is assigned to them
(the matrix's ME case uses an institution assigned to that ME); personal data of
contacts is not for Agen, Karyawan or Mitra."""

from __future__ import annotations

from tests.authz import Endpoint, ok, scoped_ok

MANAGERS = {"PINCA", "DBA", "WILAYAH", "PUSAT"}
CREATORS = MANAGERS | {"ME"}
NO_PERSONAL_DATA = {"AGEN", "KARYAWAN", "MITRA"}
BRANCH_ROLES = {"PINCA", "ME", "SALES", "KARYAWAN", "AGEN"}


def creators(role: str, in_scope: bool) -> int:
    return 200 if role in CREATORS else 403


def writers(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in CREATORS else 403


def managers(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in MANAGERS else 403


def contact_readers(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 403 if role in NO_PERSONAL_DATA else 200


def contact_writers(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 302 if role in CREATORS else 403


def potential_page(role: str, in_scope: bool) -> int:
    return 302 if role in BRANCH_ROLES else 200  # a branch goes straight to its own ranking


def access_log(role: str, in_scope: bool) -> int:
    return 200 if role in {"AUDITOR", "ADMIN"} else 403


def _inst(c: dict) -> int:
    return c["institution"].pk


ENDPOINTS: list[Endpoint] = [
    Endpoint("institutions:list", "GET", lambda c: "/lembaga/?q=a&sort=name", ok),
    Endpoint("institutions:create", "GET", lambda c: "/lembaga/baru/", creators),
    Endpoint(
        "institutions:similar", "GET", lambda c: "/lembaga/cek-kemiripan/?name=Koperasi&regency_code=31.71", creators
    ),
    Endpoint("institutions:regencies", "GET", lambda c: "/lembaga/kabupaten/?province=32", ok),
    Endpoint("institutions:parent-lookup", "GET", lambda c: "/lembaga/cari-induk/?parent_q=negeri", ok),
    Endpoint("institutions:potential", "GET", lambda c: "/lembaga/potensi/", potential_page),
    Endpoint("institutions:personal-data-reads", "GET", lambda c: "/lembaga/akses-data-pribadi/", access_log),
    Endpoint(
        "institutions:branch",
        "GET",
        lambda c: f"/lembaga/cabang/{c['institution'].branch_id}/",
        scoped_ok,
        uses_object=True,
    ),
    Endpoint("institutions:detail", "GET", lambda c: f"/lembaga/{_inst(c)}/", scoped_ok, uses_object=True),
    Endpoint("institutions:edit", "GET", lambda c: f"/lembaga/{_inst(c)}/ubah/", writers, uses_object=True),
    Endpoint("institutions:reassign", "GET", lambda c: f"/lembaga/{_inst(c)}/pindah/", managers, uses_object=True),
    Endpoint("institutions:merge", "GET", lambda c: f"/lembaga/{_inst(c)}/gabung/", managers, uses_object=True),
    Endpoint(
        "institutions:contact-create", "GET", lambda c: f"/lembaga/{_inst(c)}/kontak/baru/", writers, uses_object=True
    ),
    Endpoint(
        "institutions:contact-reveal",
        "POST",
        lambda c: f"/lembaga/{_inst(c)}/kontak/{c['contact'].pk}/lihat/",
        contact_readers,
        uses_object=True,
    ),
    Endpoint(
        "institutions:contact-restrict",
        "POST",
        lambda c: f"/lembaga/{_inst(c)}/kontak/{c['contact'].pk}/batasi/",
        contact_writers,
        data=lambda c: {"reason": "Permintaan subjek data", "restrict": "1"},
        uses_object=True,
    ),
    Endpoint(
        "institutions:contact-erase",
        "POST",
        lambda c: f"/lembaga/{_inst(c)}/kontak/{c['contact'].pk}/hapus/",
        contact_writers,
        data=lambda c: {"reason": "Permintaan subjek data"},
        uses_object=True,
    ),
]
