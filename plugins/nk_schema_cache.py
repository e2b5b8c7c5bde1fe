"""What an immutable database says about its own schema, asked once per worker.

Datasette 0.65.5 asks again on every request: a table page at a million rows made some 30 small queries
before and after its own (primary keys, columns, foreign keys, table definitions; and a schema_version
check of every database), each handed to a thread and back, about 0.25 ms apiece and more under load.
The database is opened immutable (`--immutable`), so its schema cannot change while the server runs:
the answers are kept per worker, and each caller gets its own copy. A database opened mutable, and the
server's own `_internal` one, are asked every time as before.
"""
import copy

from datasette import hookimpl

# Database methods that read the schema only (sqlite_master and PRAGMAs), never a table's rows.
SCHEMA_QUESTIONS = ("table_exists", "table_names", "view_names", "table_columns", "table_column_details",
                    "primary_keys", "fts_table", "label_column_for_table", "foreign_keys_for_table",
                    "get_all_foreign_keys", "hidden_table_names", "get_table_definition", "get_view_definition")


def remembered(ask):
    """An async schema question answered once per set of arguments; every caller gets a deep copy."""
    answers = {}

    async def answer(*args):
        if args not in answers:
            answers[args] = await ask(*args)
        return copy.deepcopy(answers[args])
    return answer


def schemas_fixed(datasette) -> bool:
    """Whether no database but Datasette's own `_internal` can change its schema."""
    return all(not db.is_mutable for name, db in datasette.databases.items() if name != "_internal")


def refreshed_once(datasette, refresh):
    """Datasette's refresh_schemas, run again only when the databases attached have changed (or one is mutable)."""
    seen = []

    async def refresh_schemas():
        attached = {name: id(db) for name, db in datasette.databases.items()}
        if seen and seen[-1] == attached and schemas_fixed(datasette):
            return
        await refresh()
        seen[:] = [attached]
    return refresh_schemas


@hookimpl
def startup(datasette):
    for name, db in datasette.databases.items():
        if name != "_internal" and not db.is_mutable and not db.is_memory:
            for question in SCHEMA_QUESTIONS:
                setattr(db, question, remembered(getattr(db, question)))
    datasette.refresh_schemas = refreshed_once(datasette, datasette.refresh_schemas)
