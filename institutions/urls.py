from django.urls import path

from institutions.views import imports, registry

app_name = "institutions"

urlpatterns = [
    path("", registry.institution_list, name="list"),
    path("baru/", registry.institution_create, name="create"),
    path("cek-kemiripan/", registry.similar_check, name="similar"),
    path("kabupaten/", registry.regency_options, name="regencies"),
    path("cari-induk/", registry.parent_lookup, name="parent-lookup"),
    path("potensi/", registry.potential, name="potential"),
    path("akses-data-pribadi/", registry.personal_data_reads, name="personal-data-reads"),
    path("cabang/<int:unit_pk>/", registry.branch_ranking, name="branch"),
    path("<int:pk>/", registry.institution_detail, name="detail"),
    path("<int:pk>/ubah/", registry.institution_edit, name="edit"),
    path("<int:pk>/pindah/", registry.institution_reassign, name="reassign"),
    path("<int:pk>/gabung/", registry.institution_merge, name="merge"),
    path("<int:pk>/kontak/baru/", registry.contact_create, name="contact-create"),
    path("<int:pk>/kontak/<int:cid>/lihat/", registry.contact_reveal, name="contact-reveal"),
    path("<int:pk>/kontak/<int:cid>/batasi/", registry.contact_restrict, name="contact-restrict"),
    path("<int:pk>/kontak/<int:cid>/hapus/", registry.contact_erase, name="contact-erase"),
    # Import and export (institutions/views/imports.py)
    path("ekspor/", imports.export_xlsx, name="export"),
    path("impor/", imports.import_start, name="import-start"),
    path("impor/templat/", imports.import_template, name="import-template"),
    path("impor/<int:pk>/", imports.import_detail, name="import-detail"),
    path("impor/<int:pk>/progres/", imports.import_progress, name="import-progress"),
    path("impor/<int:pk>/laporan/", imports.import_report, name="import-report"),
    path("impor/<int:pk>/tulis/", imports.import_confirm, name="import-confirm"),
    path("impor/<int:pk>/batal/", imports.import_cancel, name="import-cancel"),
]
