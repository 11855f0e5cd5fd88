"""Substring search on names: a trigram index on PostgreSQL (pg_trgm), so
``name_key LIKE '%term%'`` is an index scan at 200,000 institutions. SQLite has
no such index; there the search scans, which is fine at laptop scale."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS inst_name_key_trgm ON institutions_institution "
        "USING gin (name_key gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS inst_name_key_trgm")


class Migration(migrations.Migration):
    dependencies = [("institutions", "0001_registry_contacts_imports")]

    operations = [migrations.RunPython(forwards, backwards)]
