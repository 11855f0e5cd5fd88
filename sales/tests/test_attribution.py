"""Every attribution rule of sales/attribution.py, through the ingestion: for
each rule a closing that passes and one refused with the rule's name, and for
the refused one nothing written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from activities.models import Lead
from org.models import OrgUnit
from sales.attribution import BTOC_INITIATOR_OF_CHANNEL, ClosingFacts, violations
from sales.ingest import ingest
from sales.models import CHANNELS_OF, Channel, Closing, InitiatorKind, Scheme
from sales.tests import rows as R

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(get_user: Any) -> Any:
    return get_user("pusat")


def accepted(actor: Any, row: dict[str, Any]) -> Closing:
    out = ingest(actor=actor, source=R.SOURCE, rows=[row])
    assert out.problems == [], out.problems
    assert out.inserted == 1
    return Closing.objects.get(source=R.SOURCE, external_id=row["external_id"])


def refused(actor: Any, row: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    """The row is refused naming ``rule``; nothing of it is written (the batch itself is)."""
    out = ingest(actor=actor, source=R.SOURCE, rows=[row])
    assert out.inserted == 0 and out.corrected == 0
    assert rule in {p["rule"] for p in out.problems}, out.problems
    assert all(p["line"] == 2 for p in out.problems)
    assert any(rule in p["reason"] for p in out.problems if p["rule"] == rule)
    assert not Closing.objects.filter(source=R.SOURCE, external_id=row["external_id"]).exists()
    assert out.batch is not None and out.batch.error_rows == 1
    return out.problems


# --- SKEMA_KANAL ------------------------------------------------------------------------------


def test_skema_kanal(actor: Any) -> None:
    accepted(actor, R.row())
    refused(actor, R.row(channel="FLEET"), "SKEMA_KANAL")
    inst = R.institution()
    refused(actor, R.btob_row(inst, channel="SALES_TEAM"), "SKEMA_KANAL")


@pytest.mark.parametrize("scheme", Scheme.values)
@pytest.mark.parametrize("channel", Channel.values)
def test_channel_scheme_table(scheme: str, channel: str) -> None:
    """Each of the ten channels belongs to exactly one scheme; any other pairing is SKEMA_KANAL."""
    facts = ClosingFacts(
        scheme=scheme, channel=channel, product="GADAI_KCA", amount=Decimal(1), grams=None, branch=None
    )
    names = {rule for rule, _ in violations(facts)}
    owner = [s for s, channels in CHANNELS_OF.items() if channel in channels]
    assert len(owner) == 1
    assert ("SKEMA_KANAL" in names) == (owner[0] != scheme)


def test_every_channel_has_a_scheme_and_lainnya_each() -> None:
    assert sorted(c for cs in CHANNELS_OF.values() for c in cs) == sorted(Channel.values)
    assert Channel.BTOC_LAINNYA in CHANNELS_OF[Scheme.BTOC] and Channel.BTOB_LAINNYA in CHANNELS_OF[Scheme.BTOB]


# --- CABANG_PENUTUP ---------------------------------------------------------------------------


def test_cabang_penutup(actor: Any) -> None:
    c = accepted(actor, R.row(upc="U08010101"))
    assert c.upc is not None and c.upc.code == "U08010101" and c.branch.code == "C080101"
    refused(actor, R.row(branch="A0801"), "CABANG_PENUTUP")  # an area is not a branch
    refused(actor, R.row(upc="U08010201"), "CABANG_PENUTUP")  # a UPC of another branch
    refused(actor, R.row(upc="C080102"), "CABANG_PENUTUP")  # a branch is not a UPC


def test_closing_carries_branch_area_region(actor: Any) -> None:
    c = accepted(actor, R.row())
    b = OrgUnit.objects.get(code="C080101")
    assert b.parent is not None
    assert (c.branch_id, c.area_id, c.region_id) == (b.pk, b.parent_id, b.parent.parent_id)


# --- GRAM_EMAS ---------------------------------------------------------------------------------


def test_gram_emas(actor: Any) -> None:
    c = accepted(actor, R.row(product="TABUNGAN_EMAS", grams="2,5"))
    assert c.grams == Decimal("2.5000")
    accepted(actor, R.row(product="CICIL_EMAS", grams="10"))
    refused(actor, R.row(product="TABUNGAN_EMAS", grams=""), "GRAM_EMAS")
    refused(actor, R.row(product="CICIL_EMAS", grams="0"), "GRAM_EMAS")
    refused(actor, R.row(product="GADAI_KCA", grams="1.5"), "GRAM_EMAS")


# --- BTOB_ME ------------------------------------------------------------------------------------


def test_btob_me(actor: Any) -> None:
    inst = R.institution()
    c = accepted(actor, R.btob_row(inst))
    assert c.initiator_user_id == inst.me_id and c.institution_id == inst.pk
    refused(actor, R.btob_row(inst, institution=""), "BTOB_ME")
    refused(actor, R.btob_row(inst, initiator=""), "BTOB_ME")
    refused(actor, R.btob_row(inst, initiator_kind="SALES", initiator="sales.c080101.1"), "BTOB_ME")
    other_me = next(
        name for name in ("me.c080101.1", "me.c080101.2") if inst.me is not None and name != inst.me.username
    )
    refused(actor, R.btob_row(inst, initiator=other_me), "BTOB_ME")


# --- BTOC_INISIATOR ------------------------------------------------------------------------------


def test_btoc_channel_initiator_pairs(actor: Any) -> None:
    """Each BtoC channel with its own initiator passes; with another it is refused."""
    agent = R.individual_agent()
    good = {
        Channel.SALES_TEAM: {"initiator_kind": "SALES", "initiator": "sales.c080101.1"},
        Channel.EGC_KARYAWAN: {"initiator_kind": "EMPLOYEE", "initiator": R.employee().username},
        Channel.DIGITAL: {"initiator_kind": "DIGITAL", "initiator": ""},
        Channel.AGEN_PERSEORANGAN: {"initiator_kind": "AGENT", "initiator": "", "agent": agent.code},
    }
    assert set(good) == set(BTOC_INITIATOR_OF_CHANNEL)
    for channel, values in good.items():
        c = accepted(actor, R.row(channel=channel, **values))
        assert c.initiator_kind == BTOC_INITIATOR_OF_CHANNEL[channel]
        # The same initiator under every other specific BtoC channel is refused.
        for other in good:
            if other != channel:
                refused(actor, R.row(channel=other, **values), "BTOC_INISIATOR")
        # "Lainnya" accepts any BtoC initiator.
        accepted(actor, R.row(channel="BTOC_LAINNYA", **values))


def test_btoc_inisiator(actor: Any) -> None:
    refused(actor, R.row(initiator_kind="ME", initiator="me.c080101.1"), "BTOC_INISIATOR")
    refused(actor, R.row(channel="BTOC_LAINNYA", initiator_kind="ME", initiator="me.c080101.1"), "BTOC_INISIATOR")
    # A sales closing names a sales member of the closing branch.
    refused(actor, R.row(initiator=R.employee().username), "BTOC_INISIATOR")
    refused(actor, R.row(initiator="sales.c080102.1"), "BTOC_INISIATOR")
    refused(actor, R.row(initiator=""), "BTOC_INISIATOR")
    refused(actor, R.row(channel="EGC_KARYAWAN", initiator_kind="EMPLOYEE", initiator=""), "BTOC_INISIATOR")
    refused(actor, R.row(channel="AGEN_PERSEORANGAN", initiator_kind="AGENT", initiator=""), "BTOC_INISIATOR")


# --- LEMBAGA_CABANG ------------------------------------------------------------------------------


def test_lembaga_cabang_cross_branch(actor: Any) -> None:
    own = R.institution("C080101")
    other = R.institution("C080102")
    accepted(actor, R.row(institution=str(own.pk)))
    # An institution of C080102 closed at C080101: refused without a documented rule …
    refused(actor, R.row(institution=str(other.pk)), "LEMBAGA_CABANG")
    refused(actor, R.btob_row(other, branch="C080101"), "LEMBAGA_CABANG")
    # … accepted with NASIONAL, and the closing shows the rule.
    c = accepted(actor, R.row(institution=str(other.pk), cross_branch_rule="NASIONAL"))
    assert c.cross_branch_rule == "NASIONAL" and c.branch.code == "C080101" and c.institution_id == other.pk
    accepted(actor, R.btob_row(other, branch="C080101", cross_branch_rule="nasional"))
    # DIGITAL only with the digital channel.
    refused(actor, R.row(institution=str(other.pk), cross_branch_rule="DIGITAL"), "LEMBAGA_CABANG")
    c = accepted(
        actor,
        R.row(
            institution=str(other.pk),
            cross_branch_rule="DIGITAL",
            channel="DIGITAL",
            initiator_kind="DIGITAL",
            initiator="",
        ),
    )
    assert c.cross_branch_rule == "DIGITAL"
    # A rule on an institution of the closing branch itself is refused too.
    refused(actor, R.row(institution=str(own.pk), cross_branch_rule="NASIONAL"), "LEMBAGA_CABANG")


# --- KANAL_TERDAFTAR -----------------------------------------------------------------------------


def test_kanal_terdaftar_fleet(actor: Any) -> None:
    inst, other = R.institution(), R.institution(skip=1)
    R.fleet(other)
    refused(actor, R.btob_row(inst, channel="FLEET"), "KANAL_TERDAFTAR")
    R.fleet(inst)
    accepted(actor, R.btob_row(inst, channel="FLEET"))


def test_kanal_terdaftar_fleet_inactive_scheme_does_not_count(actor: Any) -> None:
    inst = R.institution()
    scheme = R.fleet(inst)
    scheme.is_active = False
    scheme.save()
    refused(actor, R.btob_row(inst, channel="FLEET"), "KANAL_TERDAFTAR")


def test_kanal_terdaftar_point_reward(actor: Any) -> None:
    inst = R.institution()
    refused(actor, R.btob_row(inst, channel="POINT_REWARD"), "KANAL_TERDAFTAR")
    R.point_reward(inst)
    accepted(actor, R.btob_row(inst, channel="POINT_REWARD"))


def test_kanal_terdaftar_pmp(actor: Any) -> None:
    inst = R.institution()
    refused(actor, R.btob_row(inst, channel="PMP", product="PMP"), "KANAL_TERDAFTAR")  # no facility
    R.pmp(inst)
    accepted(actor, R.btob_row(inst, channel="PMP", product="PMP"))
    refused(actor, R.btob_row(inst, channel="PMP", product="GADAI_KCA"), "KANAL_TERDAFTAR")  # not the PMP product


def test_kanal_terdaftar_corporate_agent(actor: Any) -> None:
    inst, other = R.institution(), R.institution(skip=1)
    mine, theirs = R.corporate_agent(inst), R.corporate_agent(other)
    c = accepted(actor, R.btob_row(inst, channel="AGEN_BADAN_USAHA", agent=mine.code))
    assert c.corporate_agent_id == mine.pk
    refused(actor, R.btob_row(inst, channel="AGEN_BADAN_USAHA", agent=theirs.code), "KANAL_TERDAFTAR")
    refused(actor, R.btob_row(inst, channel="AGEN_BADAN_USAHA"), "KANAL_TERDAFTAR")


# --- PROSPEK ------------------------------------------------------------------------------------------


def test_prospek(actor: Any) -> None:
    lead = Lead.objects.filter(branch__code="C080101").select_related("institution").first()
    assert lead is not None
    other = Lead.objects.exclude(institution=lead.institution).first()
    assert other is not None
    c = accepted(actor, R.row(institution=str(lead.institution_id), lead=str(lead.pk)))
    assert c.lead_id == lead.pk
    refused(actor, R.row(institution=str(lead.institution_id), lead=str(other.pk)), "PROSPEK")
    refused(actor, R.row(lead=str(lead.pk)), "PROSPEK")  # a lead but no institution


# --- Several rules at once, and the rest of the batch ---------------------------------------------


def test_every_broken_rule_is_named_and_valid_rows_still_written(actor: Any) -> None:
    bad = R.row(channel="FLEET", product="TABUNGAN_EMAS", initiator_kind="ME", initiator="me.c080101.1")
    good = R.row()
    out = ingest(actor=actor, source=R.SOURCE, rows=[bad, good])
    assert {p["rule"] for p in out.problems} == {"SKEMA_KANAL", "GRAM_EMAS", "BTOC_INISIATOR"}
    assert {p["line"] for p in out.problems} == {2}
    assert out.inserted == 1
    assert Closing.objects.filter(external_id=good["external_id"]).exists()
    assert not Closing.objects.filter(external_id=bad["external_id"]).exists()


def test_initiator_kinds_are_all_used() -> None:
    assert set(BTOC_INITIATOR_OF_CHANNEL.values()) | {InitiatorKind.ME} == set(InitiatorKind.values)
