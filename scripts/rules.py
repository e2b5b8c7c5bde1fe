"""Cross-field rules, declared once in data/datapackage.json (each resource's "rules") and enforced here.

A rule is {"name", "kind", "description", ...parameters}. The kinds:

- row rules, compiled to one SQL condition each and evaluated in the pass that checks every cell
  (validate.check_cells): `ordered` (filled fields never decrease), `filledBy` (which of some fields are
  filled follows from a field's value), `different` (two fields never equal), `datePrecision` (a date
  group's precision matches the form of its dates; its SQL and messages are validate's date-group ones);
- table rules, one query each once every table is staged: `uniquePair` (a relation recorded once, in
  either direction when it is symmetric), `referencedBy` (every row is referenced by another table),
  `retires` (the retired-ids table: an id it lists is never used again, and its survivor exists);
- `figuresFromWording`: numbers typed beside their printed wording agree with it (scripts/numbers.py;
  Python, over the small troop and specification tables only).

`python -m scripts.rules` prints the codebook's "Cross-field rules" section; a test keeps
data/CODEBOOK.md equal to it.
"""
import sys
from pathlib import Path

from .numbers import WordingError, parse, same_number, shown
from .schema import constraints, load_package, primary_key, quote_identifier, resource, sql_literal

ROOT = Path(__file__).resolve().parent.parent
ROW_KINDS = ("ordered", "filledBy", "different")


def rules(res: dict, *kinds: str) -> list[dict]:
    return [r for r in res.get("rules", []) if not kinds or r["kind"] in kinds]


def _filled(column: str) -> str:
    return f"{quote_identifier(column)} <> ''"


def _pairs(names: list) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]


def row_rule_sql(rule: dict) -> str:
    """True for a staged row (raw text, valid cells) that breaks the rule."""
    kind = rule["kind"]
    if kind == "ordered":
        return "(" + " OR ".join(f"({_filled(a)} AND {_filled(b)} AND CAST({quote_identifier(a)} AS REAL) > CAST({quote_identifier(b)} AS REAL))"
                                 for a, b in _pairs(rule["fields"])) + ")"
    if kind == "filledBy":
        cases = " ".join(f"WHEN {sql_literal(value)} THEN NOT ({' AND '.join(_filled(c) if c in want else 'NOT ' + _filled(c) for c in rule['among'])})"
                         for value, want in rule["cases"].items())
        return f"(CASE {quote_identifier(rule['field'])} {cases} ELSE 0 END)"
    if kind == "different":
        a, b = map(quote_identifier, rule["fields"])
        return f"({a} <> '' AND {a} = {b})"
    raise ValueError(f"not a row rule: {kind}")


def row_rule_problem(rule: dict, row: dict) -> tuple[str, str, str]:
    """(column, message, fix) for a typed row that breaks a row rule."""
    kind = rule["kind"]
    if kind == "ordered":
        a, b = next((a, b) for a, b in _pairs(rule["fields"]) if row[a] is not None and row[b] is not None and row[a] > row[b])
        return (b, f"{a} {shown(row[a])} is above {b} {shown(row[b])}",
                f"the figures go {' ≤ '.join(rule['fields'])}: check each against the printed wording")
    if kind == "filledBy":
        field, value = rule["field"], row[rule["field"]]
        want = rule["cases"][value]
        filled = [c for c in rule["among"] if row[c] is not None]
        needs = ", ".join(want) if want else "none of them"
        return (field, f"{field} {value!r} needs {needs} filled among {', '.join(rule['among'])}, but {', '.join(filled) or 'none'} "
                       f"{'is' if len(filled) == 1 else 'are'} filled",
                f"put the figure in {needs} and empty the others, or correct {field} (table of wordings in data/CODEBOOK.md, Figures)")
    if kind == "different":
        a, b = rule["fields"]
        return (b, f"links {row[a]!r} to itself", f"relate two different claims, or remove the row")
    raise ValueError(f"not a row rule: {kind}")


# ---------------------------------------------------------------------------------------------
# Table rules: (staging rowid, line, column, message, fix) for each row that breaks them


def unique_pair_rows(conn, source, rule: dict):
    a, b = (quote_identifier(f) for f in rule["fields"])
    by = quote_identifier(rule["by"])
    symmetric = f"{by} IN ({', '.join(map(sql_literal, rule['symmetric']))}) AND {b} < {a}"
    sql = (f"SELECT rowid, _line, {a}, {by}, {b}, first_line FROM (SELECT rowid, _line, {a}, {by}, {b}, "
           f"row_number() OVER w AS n, first_value(_line) OVER w AS first_line FROM {source.table} "
           f"WINDOW w AS (PARTITION BY {by}, CASE WHEN {symmetric} THEN {b} ELSE {a} END, CASE WHEN {symmetric} THEN {a} ELSE {b} END "
           f"ORDER BY _line)) WHERE n > 1")
    for rowid, line, left, relation, right, first in conn.execute(sql):
        either = " (in either direction: the relation is symmetric)" if relation in rule["symmetric"] else ""
        yield (rowid, line, rule["fields"][0], f"{left!r} {relation} {right!r} is already recorded on line {first}{either}",
               "keep one row and merge their basis")


def referenced_by_rows(conn, source, rule: dict, staged: dict):
    referrer = staged[rule["resource"]]
    if not referrer.complete:
        return  # an unread row may be the reference
    pk = quote_identifier(primary_key(source.resource))
    sql = (f"SELECT rowid, _line, {pk} FROM {source.table} WHERE {pk} NOT IN "
           f"(SELECT {quote_identifier(rule['field'])} FROM {referrer.table})")
    for rowid, line, key in conn.execute(sql):
        yield (rowid, line, primary_key(source.resource), f"{key!r} has no row in {referrer.path} naming it in {rule['field']}",
               f"add the {rule['resource']} row that supports it, or remove this row and record its id in data/retired_ids.csv")


def retired_rows(conn, source, rule: dict, staged: dict, pkg: dict):
    """Rows (of any table named in the retired-ids table's enum) whose id is retired, and retired rows
    whose survivor is not in its table."""
    table_col, by_col = rule["table"], rule["replacedBy"]
    t, by, rid = quote_identifier(table_col), quote_identifier(by_col), quote_identifier(primary_key(source.resource))
    tables = constraints(next(f for f in source.resource["schema"]["fields"] if f["name"] == table_col))["enum"]
    for name in tables:
        target = staged[name]
        pk = quote_identifier(primary_key(resource(pkg, name)))
        sql = (f"SELECT s.rowid, s._line, s.{pk}, r._line, r.reason, r.{by} FROM {source.table} r "
               f"JOIN {target.table} s ON s.{pk} = r.{rid} WHERE r.{t} = ?")
        for rowid, line, key, retired_line, reason, survivor in conn.execute(sql, (name,)):
            use = f"use {survivor!r} instead, or give the row a new id" if survivor else "give the row a new id"
            yield (name, rowid, line, primary_key(resource(pkg, name)),
                   f"{key!r} was retired ({source.path} line {retired_line}: {reason})",
                   f"{use}: a retired id is never used again, so that its old links keep pointing where they did")
        if not target.complete:
            continue
        sql = (f"SELECT rowid, _line, {rid}, {by} FROM {source.table} WHERE {t} = ? AND {by} <> '' "
               f"AND ({by} = {rid} OR {by} NOT IN (SELECT {pk} FROM {target.table}))")
        for rowid, line, key, survivor in conn.execute(sql, (name,)):
            problem = "is the retired id itself" if survivor == key else f"is not an id in {target.path}"
            yield (source.name, rowid, line, by_col, f"{survivor!r} {problem}",
                   f"name the row of {name} that {key!r} was merged into (if that one was retired too, the row that replaced it), or leave it empty")


def retired_references(conn, pkg: dict, staged: dict) -> dict:
    """(table, id) → (retired-ids file, line, replaced_by) for every retired id: a reference to one gets a fix that names
    its survivor."""
    out = {}
    for res in pkg["resources"]:
        for rule in rules(res, "retires"):
            source = staged[res["name"]]
            key = quote_identifier(primary_key(res))
            sql = f"SELECT {quote_identifier(rule['table'])}, {key}, _line, {quote_identifier(rule['replacedBy'])} FROM {source.table}"
            out.update({(table, key): (source.path, line, survivor) for table, key, line, survivor in conn.execute(sql)})
    return out


def check_table_rules(conn, pkg: dict, staged: dict, problems: list, bad: dict) -> None:
    """Every table rule and figuresFromWording of every resource; rows with earlier problems are skipped."""
    from .validate import problem_at  # validate imports this module for its row rules
    for res in pkg["resources"]:
        source = staged[res["name"]]
        found = []
        for rule in rules(res, "uniquePair"):
            found += [(res["name"], *p) for p in unique_pair_rows(conn, source, rule)]
        for rule in rules(res, "referencedBy"):
            found += [(res["name"], *p) for p in referenced_by_rows(conn, source, rule, staged)]
        for rule in rules(res, "retires"):
            found += list(retired_rows(conn, source, rule, staged, pkg))
        for rule in rules(res, "figuresFromWording"):
            found += [(res["name"], *p) for p in figure_rows(conn, source, rule, bad[res["name"]])]
        for table, rowid, line, column, message, fix in found:
            if rowid in bad[table]:
                continue
            problems.append(problem_at(staged[table], line, column, message, fix))
            bad[table].add(rowid)


# ---------------------------------------------------------------------------------------------
# Figures against their wording


def figure_problems(rule: dict, row: dict) -> list[tuple[str, str, str]]:
    """(column, message, fix) where the typed row's figures disagree with its printed wording."""
    wording_col = rule["wording"]
    wording = row[wording_col]
    try:
        figure = parse(wording)
    except WordingError as e:
        return [(wording_col, str(e), "copy only the one figure with its qualifier (e.g. 'up to 3,000'), or split the row")]
    fix_words = f"type the figure {wording_col} gives (table of wordings in data/CODEBOOK.md, Figures)"
    if "bounds" in rule:
        out = []
        got = figure.bounds() if figure else {}
        for bound, column in rule["bounds"].items():
            if not same_number(got.get(bound), row[column]):
                out.append((column, f"is {shown(row[column])} but {wording_col} {wording!r} gives {shown(got.get(bound))} for it", fix_words))
        qualifier = rule.get("qualifier")
        said = figure.qualifier if figure else "unquantified"
        if qualifier and row[qualifier] != said:
            increment = " (an increment, never a total)" if said == "additional" or row[qualifier] == "additional" else ""
            out.append((qualifier, f"is {row[qualifier]!r} but {wording_col} {wording!r} reads as {said!r}{increment}",
                        f"use {said!r}, or copy the wording with the words that qualify the figure"))
        return out
    if figure is None or figure.is_increment or figure.qualifier == "range":
        kind = "no figure" if figure is None else "an increment" if figure.is_increment else "a range"
        return [(wording_col, f"{wording!r} gives {kind}, not one value", "copy the one figure the value is read from")]
    value = next(v for v in figure.bounds().values() if v is not None)
    out = []
    if not same_number(value, row[rule["value"]]):
        out.append((rule["value"], f"is {shown(row[rule['value']])} but {wording_col} {wording!r} gives {shown(value)}", fix_words))
    unit = rule.get("unit")
    if unit and figure.unit is not None and figure.unit != row[unit]:
        out.append((unit, f"is {row[unit]!r} but {wording_col} {wording!r} is in {figure.unit!r}", f"write {figure.unit!r}"))
    return out


def figure_rows(conn, source, rule: dict, bad: set):
    from .validate import parse_cell
    used = [rule["wording"], *rule.get("bounds", {}).values(), *(rule[k] for k in ("qualifier", "value", "unit") if k in rule)]
    typed = [f for f in source.resource["schema"]["fields"] if f["name"] in used]  # only these: 1e6-row builds
    sql = f"SELECT rowid, _line, {', '.join(quote_identifier(f['name']) for f in typed)} FROM {source.table}"
    for rowid, line, *cells in conn.execute(sql):
        if rowid in bad:
            continue
        row = {f["name"]: parse_cell(f, cell) for f, cell in zip(typed, cells)}
        for problem in figure_problems(rule, row):
            yield (rowid, line, *problem)


# ---------------------------------------------------------------------------------------------
# The codebook's section


def codebook_section(pkg: dict) -> str:
    lines = ["## Cross-field rules", "",
             "Declared in `data/datapackage.json` (each resource's `rules`) and enforced by the build, which refuses a",
             "row that breaks one with its file, line and column. This section is generated from the package",
             "(`python -m scripts.rules`); a test keeps the two equal.", ""]
    for res in pkg["resources"]:
        for rule in rules(res):
            lines.append(f"- `{res['name']}` **{rule['name']}** — {rule['description']}")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(codebook_section(load_package(ROOT / "data" / "datapackage.json")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
