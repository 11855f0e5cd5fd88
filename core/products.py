"""Products sold through institutions (DESIGN.md §3). Shared by events and leads
(activities) and by closings (sales)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Product(models.TextChoices):
    GADAI_KCA = "GADAI_KCA", _("Gadai KCA / Rahn")
    TABUNGAN_EMAS = "TABUNGAN_EMAS", _("Tabungan Emas")
    CICIL_EMAS = "CICIL_EMAS", _("Cicil Emas (Mulia)")
    KRASIDA = "KRASIDA", _("Krasida")
    KREASI = "KREASI", _("Kreasi")
    ARRUM = "ARRUM", _("Arrum")
    ARRUM_HAJI = "ARRUM_HAJI", _("Arrum Haji")
    AMANAH = "AMANAH", _("Amanah")
    GADAI_EFEK = "GADAI_EFEK", _("Gadai Efek")
    PMP = "PMP", _("PMP (Pinjaman Modal Produktif)")


GOLD_PRODUCTS = frozenset({Product.TABUNGAN_EMAS, Product.CICIL_EMAS})
