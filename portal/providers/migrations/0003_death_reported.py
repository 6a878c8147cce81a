import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0002_service_user_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="serviceuser",
            name="death_reported_on",
            field=models.DateField(
                blank=True,
                help_text="From a provider's query, until the back office records the death (`deceased_on`).",
                null=True,
                verbose_name="date of death reported by a provider",
            ),
        ),
        migrations.AddField(
            model_name="serviceuser",
            name="death_reported_by",
            field=models.ForeignKey(
                blank=True,
                help_text="The provider that reported it: until the council confirms, it flags only their lines.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="providers.provider",
            ),
        ),
    ]
