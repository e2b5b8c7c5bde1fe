"""Stage 5, index/search: FTS5 tables that Datasette picks up for its search box.

Searchable columns are the fields marked "fullTextSearch": true in data/datapackage.json.
"""
import sqlite_utils

from .schema import all_fields


def searchable_columns(res: dict) -> list[str]:
    return [f["name"] for f in all_fields(res) if f.get("fullTextSearch")]


def enable_search(conn, pkg: dict) -> None:
    db = sqlite_utils.Database(conn)
    for res in pkg["resources"]:
        columns = searchable_columns(res)
        if columns:
            # Datasette finds <table>_fts (content=<table>) and shows a search box on the table.
            db[res["name"]].enable_fts(columns, fts_version="FTS5", create_triggers=False,
                                       tokenize="unicode61 remove_diacritics 2")
