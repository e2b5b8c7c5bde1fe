"""Derived tables, computed from the curated ones at build time, never typed by hand.

Sources are counted by independent organisation: a speaker counts as the top of its affiliation
chain (Lloyd Austin → Pentagon → United States government), so one government's officials do not
corroborate each other. Evidence status (claim_origins, claim_evidence) is evidence.py's.
"""
from . import evidence
from .evidence import DENYING, SUPPORTING, UNCONFIRMING


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


ACTOR_ROOTS = """
WITH RECURSIVE chain(actor_id, root_id, depth) AS (
  SELECT id, id, 0 FROM actors
  UNION ALL
  SELECT chain.actor_id, actors.affiliation_id, chain.depth + 1
  FROM chain JOIN actors ON actors.id = chain.root_id
  WHERE actors.affiliation_id IS NOT NULL AND chain.depth < 20
)
SELECT actor_id, root_id FROM chain c
WHERE depth = (SELECT max(depth) FROM chain WHERE actor_id = c.actor_id)
"""

TRANSFER_SUMMARY = """
WITH m AS MATERIALIZED (
  SELECT id, direction, weapon_system_id, status, source_id FROM weapon_mentions WHERE direction IS NOT NULL
), statuses AS (
  SELECT direction, weapon_system_id, group_concat(status, ', ') AS statuses
  FROM (SELECT DISTINCT direction, weapon_system_id, status FROM m ORDER BY direction, weapon_system_id, status)
  GROUP BY direction, weapon_system_id
), per_source AS (
  SELECT direction, weapon_system_id, source_id,
    row_number() OVER (PARTITION BY direction, weapon_system_id ORDER BY count(*) DESC, source_id) AS rank
  FROM m GROUP BY direction, weapon_system_id, source_id
), top AS (
  SELECT direction, weapon_system_id, group_concat(name, ', ') AS top_sources
  FROM (SELECT p.direction, p.weapon_system_id, a.name FROM per_source p JOIN actors a ON a.id = p.source_id
        WHERE p.rank <= 5 ORDER BY p.direction, p.weapon_system_id, p.rank)
  GROUP BY direction, weapon_system_id
)
SELECT m.direction, m.weapon_system_id, w.name, w.category, count(*) AS mentions, s.statuses,
  max(m.status IN ('reported', 'alleged', 'confirmed')) AS firm,
  min(m.id) AS example_mention_id, t.top_sources
FROM m JOIN weapon_systems w ON w.id = m.weapon_system_id
JOIN statuses s ON s.direction = m.direction AND s.weapon_system_id = m.weapon_system_id
LEFT JOIN top t ON t.direction = m.direction AND t.weapon_system_id = m.weapon_system_id
GROUP BY m.direction, m.weapon_system_id
"""

WEAPON_MENTION_COUNTS = """
SELECT m.weapon_system_id, w.name AS weapon_system, w.category, m.status, m.direction,
  count(*) AS mentions, count(DISTINCT m.document_id) AS documents,
  group_concat(DISTINCT s.name) AS according_to,
  min('weapon_mentions/' || m.id) AS example_row
FROM weapon_mentions m NOT INDEXED JOIN weapon_systems w ON w.id = m.weapon_system_id
JOIN actors s ON s.id = m.source_id
GROUP BY m.weapon_system_id, m.status, m.direction
"""

CLAIM_SOURCES = f"""
SELECT a.claim_id,
  group_concat(DISTINCT CASE WHEN a.stance IN {_in(SUPPORTING)} THEN s.name END) AS supported_by,
  group_concat(DISTINCT CASE WHEN a.stance IN {_in(DENYING)} THEN s.name END) AS denied_by,
  group_concat(DISTINCT CASE WHEN a.stance IN {_in(UNCONFIRMING)} THEN s.name END) AS not_confirmed_by,
  group_concat(DISTINCT s.name) AS sources
FROM appearances a NOT INDEXED JOIN actors s ON s.id = a.speaker_id
GROUP BY a.claim_id
"""

DENIAL_STATEMENTS = f"""
SELECT a.id AS appearance_id, a.speaker_id, s.name AS denied_by, a.claim_id, c.claim, a.document_id, a.excerpt
FROM appearances a JOIN claims c ON c.id = a.claim_id JOIN actors s ON s.id = a.speaker_id
WHERE a.stance IN {_in(DENYING)}
"""

STANCE_BY_ORGANISATION = """
SELECT CASE WHEN root.conflict_party THEN 'party to the conflict' ELSE 'third party' END AS speaker_side,
  root.name AS organisation, a.stance, count(*) AS appearances, count(DISTINCT a.claim_id) AS claims
FROM appearances a NOT INDEXED JOIN actor_roots r ON r.actor_id = a.speaker_id
JOIN actors root ON root.id = r.root_id
GROUP BY speaker_side, organisation, a.stance
"""

TROOP_ESTIMATE_POINTS = """
SELECT coalesce(t.as_of_start, 'undated') AS as_of, e.name AS estimator, b.bound, b.soldiers, t.original_wording,
  t.id AS troop_estimate_id
FROM troop_estimates t
JOIN actors e ON e.id = t.estimator_id
JOIN (
  SELECT id, 'low' AS bound, value_low AS soldiers FROM troop_estimates WHERE value_low IS NOT NULL
  UNION ALL SELECT id, 'best', value_best FROM troop_estimates WHERE value_best IS NOT NULL
  UNION ALL SELECT id, 'high', value_high FROM troop_estimates WHERE value_high IS NOT NULL
) b ON b.id = t.id
WHERE t.scope != 'army_size' AND t.qualifier != 'additional'  -- an increment is not a count of troops
"""

# Aggregates over every appearance or mention say NOT INDEXED: one full scan and a sort beat a million
# lookups through the claim_id index into rows scattered across the table (28 s against 6 s at 1e6).
# The database is immutable, so these are stored as tables once, at build time (in this order: a table
# may read the ones before it): pages and canned queries read them by index instead of re-aggregating
# every appearance or mention on every request. Each entry: name, defining SELECT (or a function that
# creates the table; None for a table such a function creates with an earlier one), indexes (a column,
# or a tuple of columns, each optionally DESC, for an index that serves a query's ORDER BY as well).
DERIVED = [("actor_roots", ACTOR_ROOTS, ["actor_id", "root_id"]),
           ("evidence_definitions", evidence.create_definitions, ["kind"]),
           # claim_origins and claim_evidence are written together, from one scan of the appearances
           ("claim_origins", evidence.create_evidence_tables,
            [("claim_id", "document_id", "sentence_start"), "document_id", "discounted_by", "independent_group"]),
           ("claim_evidence", None,
            ["claim_id", "evidence_status", "topic", "direction",
             ("evidence_status", "supporting_origins DESC", "claim_id"), ("evidence_status", "topic", "claim", "claim_id")]),
           ("transfer_summary", TRANSFER_SUMMARY, ["direction", "weapon_system_id"]),
           ("weapon_mention_counts", WEAPON_MENTION_COUNTS, ["weapon_system_id", "status", "direction"]),
           ("claim_sources", CLAIM_SOURCES, ["claim_id"]),
           ("denial_statements", DENIAL_STATEMENTS, ["speaker_id", ("denied_by", "appearance_id")]),
           ("stance_by_organisation", STANCE_BY_ORGANISATION, ["stance", ("speaker_side", "appearances DESC", "organisation", "stance")]),
           ("troop_estimate_points", TROOP_ESTIMATE_POINTS, [("as_of", "estimator", "soldiers", "troop_estimate_id")])]

# Indexes on base tables for the ORDER BY of a page or canned query (the build indexes facet columns).
INDEXES = [("troop_estimates", ("as_of_start", "id"))]


def index_sql(table: str, columns) -> str:
    columns = (columns,) if isinstance(columns, str) else tuple(columns)
    name = "_".join(column.split()[0] for column in columns)
    return f"CREATE INDEX idx_{table}_{name} ON {table}({', '.join(columns)})"


def create_views(conn) -> None:
    with conn:
        for name, select, indexed in DERIVED:
            if isinstance(select, str):
                conn.execute(f"CREATE TABLE {name} AS {select.strip()} ORDER BY 1")
            elif select:
                select(conn)
            for columns in indexed:
                conn.execute(index_sql(name, columns))
        for table, columns in INDEXES:
            conn.execute(index_sql(table, columns))
