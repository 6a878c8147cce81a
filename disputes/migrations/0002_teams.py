from django.db import migrations

TEAMS = [
    ("payments", "Payments"),
    ("brokerage", "Brokerage"),
    ("childrens_finance", "Children's finance"),
    ("portal_support", "Portal support"),
]


def teams_create(apps, schema_editor):
    """The council's four teams (DOMAIN.md); portal administrators set up their members and mailboxes."""
    Team = apps.get_model("disputes", "Team")
    for code, name in TEAMS:
        Team.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [migrations.RunPython(teams_create, migrations.RunPython.noop)]
