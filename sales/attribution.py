"""The attribution rules of a closing, in one place.

Each rule has a name (shown in every refusal, so a core-system team can look
it up in docs/SALES.md) and a check over the resolved values of one closing.
``violations`` answers every broken rule; an empty list means the closing is
consistent. Ingestion (files and API) and any future manual entry call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from core.products import GOLD_PRODUCTS, Product
from org.models import UnitKind
from sales.models import CHANNELS_OF, Channel, CrossBranchRule, InitiatorKind, Scheme

# Which initiator each BtoC channel means ("lainnya" accepts any BtoC initiator).
BTOC_INITIATOR_OF_CHANNEL: dict[str, str] = {
    Channel.SALES_TEAM: InitiatorKind.SALES,
    Channel.EGC_KARYAWAN: InitiatorKind.EMPLOYEE,
    Channel.DIGITAL: InitiatorKind.DIGITAL,
    Channel.AGEN_PERSEORANGAN: InitiatorKind.AGENT,
}
BTOC_INITIATORS = frozenset(BTOC_INITIATOR_OF_CHANNEL.values())
CROSS_BRANCH_RULES = frozenset(CrossBranchRule.values)


@dataclass
class ClosingFacts:
    """One closing with its references resolved (objects, not ids)."""

    scheme: str
    channel: str
    product: str
    amount: Decimal
    grams: Decimal | None
    branch: Any  # OrgUnit
    upc: Any = None  # OrgUnit or None
    institution: Any = None  # Institution or None
    cross_branch_rule: str = ""
    initiator_kind: str = ""
    initiator_user: Any = None
    initiator_role: str = ""  # the user's role in the closing branch, when one
    individual_agent: Any = None
    corporate_agent: Any = None
    lead: Any = None
    has_fleet: bool = False
    has_point_reward: bool = False
    has_pmp: bool = False


def violations(f: ClosingFacts) -> list[tuple[str, str]]:
    """Every broken rule as (rule name, message)."""
    out: list[tuple[str, str]] = []

    def broken(rule: str, message: str) -> None:
        out.append((rule, message))

    # SKEMA_KANAL: the channel belongs to the scheme.
    if f.channel not in CHANNELS_OF.get(f.scheme, ()):
        broken(
            "SKEMA_KANAL",
            _("Kanal %(channel)s bukan kanal skema %(scheme)s.")
            % {"channel": f.channel, "scheme": Scheme(f.scheme).label if f.scheme in Scheme.values else f.scheme},
        )
    # CABANG_PENUTUP: a closing is closed at a branch (and, if given, one of its UPCs).
    if f.branch is None or f.branch.kind != UnitKind.CABANG:
        broken("CABANG_PENUTUP", _("Cabang penutup harus sebuah Kantor Cabang."))
    elif f.upc is not None and (f.upc.kind != UnitKind.UPC or f.upc.parent_id != f.branch.pk):
        broken("CABANG_PENUTUP", _("UPC bukan unit dari cabang penutup."))
    # GRAM_EMAS: gold products carry their grams; others none.
    if f.product in GOLD_PRODUCTS:
        if f.grams is None or f.grams <= 0:
            broken("GRAM_EMAS", _("Produk emas wajib mencantumkan gram."))
    elif f.grams is not None:
        broken("GRAM_EMAS", _("Gram hanya untuk produk emas."))
    if f.scheme == Scheme.BTOB:
        # BTOB_ME: BtoB is initiated by the ME who initiated the institution.
        if f.institution is None:
            broken("BTOB_ME", _("Closing BtoB harus menyebut lembaganya."))
        elif f.initiator_kind != InitiatorKind.ME or f.initiator_user is None:
            broken("BTOB_ME", _("Closing BtoB harus menyebut ME yang menginisiasi lembaga."))
        elif f.institution.me_id != f.initiator_user.pk:
            broken("BTOB_ME", _("ME yang disebut bukan ME pengelola lembaga ini."))
        _registry_rules(f, broken)
    elif f.scheme == Scheme.BTOC:
        # BTOC_INISIATOR: a branch organ, an employee, the digital channel or an individual agent.
        expected = BTOC_INITIATOR_OF_CHANNEL.get(f.channel)
        if f.initiator_kind not in BTOC_INITIATORS:
            broken(
                "BTOC_INISIATOR",
                _("Closing BtoC diinisiasi tim penjualan, karyawan (EGC), kanal digital atau agen perseorangan."),
            )
        elif expected is not None and f.initiator_kind != expected:
            broken(
                "BTOC_INISIATOR",
                _("Kanal %(channel)s berarti inisiator %(kind)s.")
                % {"channel": Channel(f.channel).label, "kind": InitiatorKind(expected).label},
            )
        elif f.initiator_kind == InitiatorKind.SALES and f.initiator_role != "SALES":
            broken("BTOC_INISIATOR", _("Inisiator bukan anggota tim penjualan cabang penutup."))
        elif f.initiator_kind == InitiatorKind.EMPLOYEE and f.initiator_user is None:
            broken("BTOC_INISIATOR", _("Sebutkan karyawan yang mereferensikan (EGC)."))
        elif f.initiator_kind == InitiatorKind.AGENT and f.individual_agent is None:
            broken("BTOC_INISIATOR", _("Sebutkan kode agen perseorangan."))
    # LEMBAGA_CABANG: the institution is the closing branch's, or a documented cross-branch rule says why not.
    if f.institution is not None and f.branch is not None and f.institution.branch_id != f.branch.pk:
        if f.cross_branch_rule not in CROSS_BRANCH_RULES:
            broken(
                "LEMBAGA_CABANG",
                _("Lembaga dikelola cabang lain; sebutkan aturan lintas cabang (NASIONAL atau DIGITAL)."),
            )
        elif f.cross_branch_rule == CrossBranchRule.DIGITAL and f.channel != Channel.DIGITAL:
            broken("LEMBAGA_CABANG", _("Aturan lintas cabang DIGITAL hanya untuk kanal digital."))
    elif f.cross_branch_rule and f.institution is not None and f.branch is not None:
        broken("LEMBAGA_CABANG", _("Aturan lintas cabang hanya untuk lembaga cabang lain."))
    # PROSPEK: the lead it came from is a lead of that institution.
    if f.lead is not None and (f.institution is None or f.lead.institution_id != f.institution.pk):
        broken("PROSPEK", _("Prospek bukan dari lembaga closing ini."))
    return out


def _registry_rules(f: ClosingFacts, broken: Any) -> None:
    """KANAL_TERDAFTAR: a BtoB channel needs its registry entry for the institution."""
    if f.institution is None:
        return
    if f.channel == Channel.AGEN_BADAN_USAHA and (
        f.corporate_agent is None or f.corporate_agent.institution_id != f.institution.pk
    ):
        broken("KANAL_TERDAFTAR", _("Agen badan usaha/komunitas tidak terdaftar untuk lembaga ini."))
    elif f.channel == Channel.FLEET and not f.has_fleet:
        broken("KANAL_TERDAFTAR", _("Lembaga ini tidak punya skema fleet."))
    elif f.channel == Channel.POINT_REWARD and not f.has_point_reward:
        broken("KANAL_TERDAFTAR", _("Lembaga ini bukan anggota Club Point Reward."))
    elif f.channel == Channel.PMP and (f.product != Product.PMP or not f.has_pmp):
        broken("KANAL_TERDAFTAR", _("Kanal PMP hanya untuk produk PMP lembaga yang punya fasilitas PMP."))
