from django.db import migrations, models


class Migration(migrations.Migration):  # type: ignore[misc]
    initial = True

    dependencies: list[tuple[str, str]] = []  # noqa: RUF012 (Django's migration format)

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Visit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("path", models.CharField(max_length=200)),
                ("client", models.CharField(max_length=100)),
                ("at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ("-at", "-id")},
        ),
    ]
