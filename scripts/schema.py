"""The one declared schema: data/datapackage.json (Frictionless Tabular Data Package).

Everything else (reading, validation, evidence location, SQLite DDL, Datasette column
descriptions, the exported package) is derived from it through these helpers.
"""
import json
from pathlib import Path

SQLITE_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT"}


def load_package(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resources(pkg: dict) -> list[dict]:
    return pkg["resources"]


def resource(pkg: dict, name: str) -> dict:
    for res in pkg["resources"]:
        if res["name"] == name:
            return res
    raise KeyError(name)


def fields(res: dict) -> list[dict]:
    """Fields curators write in the CSV."""
    return res["schema"]["fields"]


def derived_fields(res: dict) -> list[dict]:
    """Fields the build adds (offsets, document text); not in the CSV."""
    return res["schema"].get("derivedFields", [])


def all_fields(res: dict) -> list[dict]:
    """Every column in table order: a derived field declaring "after" sits right after that field (a
    normalised date beside its partial date), the others at the end."""
    out = list(fields(res))
    for field in derived_fields(res):
        names = [f["name"] for f in out]
        out.insert(names.index(field["after"]) + 1 if field.get("after") in names else len(out), field)
    return out


def normalised_dates(res: dict) -> dict[str, str]:
    """Partial-date column → the build's full-date column for it (declared as derived "normalisedDate"),
    for the start and the end of its group: a date facet on either uses the normalised day."""
    out = {}
    for field in derived_fields(res):
        start = field.get("normalisedDate")
        if start:
            out[start] = field["name"]
            out[start[: -len("_start")] + "_end"] = field["name"]
    return out


def field_names(res: dict) -> list[str]:
    return [f["name"] for f in fields(res)]


def constraints(field: dict) -> dict:
    return field.get("constraints", {})


def primary_key(res: dict) -> str:
    (pk,) = res["schema"]["primaryKey"]
    return pk


def foreign_keys(res: dict) -> list[tuple[str, str, str]]:
    """(field, referenced resource, referenced field) triples."""
    out = []
    for fk in res["schema"].get("foreignKeys", []):
        ref = fk["reference"]
        target = ref["resource"] or res["name"]  # "" means self-reference in Table Schema
        out.append((fk["fields"][0], target, ref["fields"][0]))
    return out


def facet_fields(res: dict) -> list[str]:
    """Columns journalists facet on: every enum, boolean and foreign key, and fields marked "facet"."""
    names = [f["name"] for f in fields(res) if "enum" in constraints(f) or f["type"] == "boolean" or f.get("facet")]
    names += [fk for fk, _, _ in foreign_keys(res)]
    return list(dict.fromkeys(names))


def category_labels(pkg: dict) -> dict[str, dict[str, str]]:
    """Column name → {code: human label}, from the `categories` declared beside an enum.

    Codes stay ASCII for filters and SQL; pages show the label.  Keyed by column name alone because a
    column that carries categories (e.g. direction) means the same thing in every table that has it."""
    out = {}
    for res in resources(pkg):
        for f in fields(res):
            if "categories" in f:
                out.setdefault(f["name"], {}).update({c["value"]: c["label"] for c in f["categories"]})
    return out


def verbatim_fields(res: dict) -> list[tuple[str, str]]:
    """(field, where it must occur): 'document' (the row's seed) or another field of the row."""
    return [(f["name"], f["verbatimIn"]) for f in fields(res) if "verbatimIn" in f]


def date_groups(res: dict) -> list[str]:
    """Prefixes X of the date groups (X_start, X_end, X_precision) that a datePrecision rule declares."""
    return [r["prefix"] for r in res.get("rules", []) if r["kind"] == "datePrecision"]


def sqlite_type(field: dict) -> str:
    return SQLITE_TYPES[field["type"]]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_order(pkg: dict) -> list[dict]:
    """Resources ordered so that every referenced table comes before the tables that reference it."""
    done, order = set(), []
    pending = list(resources(pkg))
    while pending:
        for res in pending:
            deps = {t for _, t, _ in foreign_keys(res)} - {res["name"]}
            if deps <= done:
                order.append(res)
                done.add(res["name"])
                pending.remove(res)
                break
        else:
            raise ValueError("circular foreign keys between " + ", ".join(r["name"] for r in pending))
    return order
