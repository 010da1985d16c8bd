"""patch()/unpatch(): one fake module per psycopg2 name, psycopg 3 hidden, a warning when late.

Each test runs in a fresh interpreter: patching changes ``sys.modules`` for the whole process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from greenpsyco.testing import TestServer


def run_python(code: str, env_extra: dict[str, str] | None = None) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it must print one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_patch_aliases_every_psycopg2_module_once_and_hides_psycopg3() -> None:
    seen = run_python(
        """
        import importlib, json, sys
        import greenpsyco
        greenpsyco.patch()
        greenpsyco.patch()  # idempotent
        import psycopg2, psycopg2.extensions, psycopg2.extras, psycopg2.errors, psycopg2.sql
        import psycopg2._range, psycopg2._json, psycopg2.pool, psycopg2.tz, psycopg2.errorcodes
        from psycopg2 import extras as extras_again
        import greenpsyco.fake_psycopg2.extensions as ours
        try:
            import psycopg
            hidden = False
        except ImportError as error:
            hidden = "greenpsyco" in str(error)
        print(json.dumps({
            "patched": greenpsyco.is_patched(),
            "ours": psycopg2.__name__,
            "same_module": psycopg2.extensions is ours,
            "same_extras": extras_again is sys.modules["psycopg2.extras"],
            "cursor_class_module": psycopg2.extensions.cursor.__module__,
            "range_module": psycopg2.extras.NumericRange.__module__,
            "version": psycopg2.__version__,
            "psycopg_hidden": hidden,
        }))
        """
    )
    assert seen == {
        "patched": True,
        "ours": "greenpsyco.fake_psycopg2",
        "same_module": True,
        "same_extras": True,
        "cursor_class_module": "psycopg2.extensions",
        "range_module": "psycopg2._range",
        "version": seen["version"],
        "psycopg_hidden": True,
    }
    assert str(seen["version"]).startswith("2.9.")
    assert str(seen["version"]).endswith("(dt dec pq3 ext lo64)")


def test_unpatch_restores_the_real_psycopg2() -> None:
    seen = run_python(
        """
        import json, sys
        import psycopg2 as real
        import greenpsyco, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            greenpsyco.patch()
        import psycopg2 as during
        greenpsyco.unpatch()
        greenpsyco.unpatch()  # idempotent
        import psycopg2 as after
        print(json.dumps({
            "during_is_fake": during.__name__ == "greenpsyco.fake_psycopg2",
            "after_is_real": after is real,
            "patched": greenpsyco.is_patched(),
            "warned": [str(w.category.__name__) for w in caught],
        }))
        """
    )
    assert seen == {
        "during_is_fake": True,
        "after_is_real": True,
        "patched": False,
        "warned": ["GreenpsycoPatchWarning"],
    }


def test_late_patch_names_the_modules_holding_the_real_driver(tmp_path: object) -> None:
    seen = run_python(
        f"""
        import json, sys, warnings
        sys.path.insert(0, {str(tmp_path)!r})
        open({str(tmp_path)!r} + "/holder_module.py", "w").write("import psycopg2 as Database\\n")
        import holder_module
        import greenpsyco
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            greenpsyco.patch()
        print(json.dumps([str(w.message) for w in caught]))
        """
    )
    assert isinstance(seen, list)
    assert len(seen) == 1
    assert "holder_module" in str(seen[0])
    assert "Call patch() first" in str(seen[0])


def test_django_runs_its_backend_on_the_fake_driver(pg_server: TestServer) -> None:
    if pg_server.external:
        pytest.skip("needs the self-started cluster's address")
    seen = run_python(
        f"""
        import json
        import greenpsyco
        greenpsyco.patch()
        import django
        from django.conf import settings
        settings.configure(
            DATABASES={{"default": {{
                "ENGINE": "django.db.backends.postgresql", "NAME": "postgres", "USER": "postgres",
                "HOST": {pg_server.host!r}, "PORT": {pg_server.port},
            }}}},
            INSTALLED_APPS=["django.contrib.contenttypes"], USE_TZ=True, TIME_ZONE="Europe/Paris",
        )
        django.setup()
        import datetime
        from django.db import connection, models, transaction
        import django.db.backends.postgresql.base as base

        class Item(models.Model):
            name = models.CharField(max_length=50)
            data = models.JSONField(default=dict)
            when = models.DateTimeField(null=True)
            class Meta:
                app_label = "contenttypes"
                db_table = "greenpsyco_item"

        with connection.schema_editor() as editor:
            editor.create_model(Item)
        try:
            stamp = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)
            a = Item.objects.create(name="a", data={{"k": [1, 2]}}, when=stamp)
            Item.objects.create(name="b's")
            try:
                with transaction.atomic():
                    Item.objects.create(name="rolled back")
                    raise RuntimeError
            except RuntimeError:
                pass
            Item.objects.filter(name="b's").update(name="b")
            fetched = Item.objects.get(pk=a.pk)
            names = sorted(Item.objects.values_list("name", flat=True))
            Item.objects.filter(name="b").delete()
            remaining = Item.objects.count()
            iterated = [item.name for item in Item.objects.all().iterator(chunk_size=1)]
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Item)
        print(json.dumps({{
            "database_module": base.Database.__name__,
            "is_psycopg3": base.is_psycopg3,
            "names": names,
            "data": fetched.data,
            "when": fetched.when.isoformat(),
            "remaining": remaining,
            "iterated": iterated,
            "vendor_version": connection.pg_version > 120000,
        }}))
        """
    )
    assert seen == {
        "database_module": "greenpsyco.fake_psycopg2",
        "is_psycopg3": False,
        "names": ["a", "b"],
        "data": {"k": [1, 2]},
        "when": "2024-06-01T12:00:00+00:00",
        "remaining": 1,
        "iterated": ["a"],
        "vendor_version": True,
    }


def test_patch_configures_the_pool() -> None:
    seen = run_python(
        """
        import json
        import greenpsyco
        from greenpsyco import pooling
        before = pooling.pool_size()
        greenpsyco.patch(pool_size=7, pool_timeout=2.5)
        print(json.dumps({"before": before, "size": pooling.pool_size(), "timeout": pooling.pool_timeout()}))
        """
    )
    assert seen == {"before": 0, "size": 7, "timeout": 2.5}
