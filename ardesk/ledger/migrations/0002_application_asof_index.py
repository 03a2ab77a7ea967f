"""A covering index for the as-of KPI statements: applications dated after a date (or within a window)
read their invoice, amount and source from the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="application",
            index=models.Index(
                fields=["applied_date", "invoice", "amount_minor", "payment", "credit_memo"],
                name="application_asof_cover",
            ),
        ),
    ]
