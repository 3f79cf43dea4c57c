"""Carry over the messages a Channels 1.x delay server left waiting.

Channels 1.x kept delayed messages in the table ``channels.delay_delayedmessage``
(its app label had a dot, which Django no longer allows). If a project's
database still has that table, its rows are copied into this app's table,
due dates unchanged; the old table itself is left alone (drop it once the
project runs on channels_test). Without the old table this does nothing.
"""

from typing import Any

from django.db import migrations

LEGACY_TABLE = "channels.delay_delayedmessage"


def copy_legacy_messages(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    table = apps.get_model("channels_delay", "DelayedMessage")._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("due_date", "channel_name", "content"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} FROM {quote(LEGACY_TABLE)} ORDER BY {quote('id')}"
        )


class Migration(migrations.Migration):
    dependencies = [("channels_delay", "0001_initial")]

    operations = [migrations.RunPython(copy_legacy_messages, migrations.RunPython.noop, elidable=True)]
