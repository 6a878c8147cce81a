from django.db import migrations

STREAMS = [
    "service-types",
    "providers",
    "service-users",
    "care-package-lines",
    "submission-events",
    "remittances",
    "payment-schedule",
]


def create_streams(apps, schema_editor):
    SyncStream = apps.get_model("controcc_sync", "SyncStream")
    for name in STREAMS:
        SyncStream.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("controcc_sync", "0001_initial")]

    operations = [migrations.RunPython(create_streams, migrations.RunPython.noop)]
