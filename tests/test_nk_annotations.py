"""Open annotation export: every excerpt-bearing row as a W3C Web Annotation, in dist/ and per row (.jsonld).

The JSON-LD is expanded by a real processor (pyld) whose document loader serves only the repository's copy
of the Web Annotation context (contexts/anno.jsonld: no network), and every annotation is re-anchored in its
seed from its TextQuoteSelector alone by anchorpoint, which must find the offsets the build recorded.
"""
import json

import pytest
from anchorpoint.textselectors import TextQuoteSelector
from pyld import jsonld

import nk_annotations as na

from .conftest import ROOT, SEEDS

OA = "http://www.w3.org/ns/oa#"
CONTEXT_COPY = ROOT / "contexts" / "anno.jsonld"


def offline_loader(url, options=None):
    if url != na.CONTEXT:
        raise jsonld.JsonLdError(f"offline: no document for {url}", "loading document failed", code="loading document failed")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": json.loads(CONTEXT_COPY.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def package_annotations(built):
    return json.loads((built["dist"] / "annotations.jsonld").read_text(encoding="utf-8"))


def excerpt_rows(conn):
    return {(t, r["id"]): dict(r) for t in na.TABLES
            for r in conn.execute(f"SELECT id, document_id, char_start, char_end, excerpt FROM {t} WHERE char_start IS NOT NULL")}


def test_selectors_at_the_edges_of_a_text():
    quote, position = na.selectors("abcdef", 0, 2)
    assert (quote["prefix"], quote["exact"], quote["suffix"]) == ("", "ab", "cdef")
    assert (position["start"], position["end"]) == (0, 2)
    long = "x" * 100 + "HERE" + "y" * 100
    quote, _ = na.selectors(long, 100, 104)
    assert quote["prefix"] == "x" * na.PREFIX_CHARS and quote["suffix"] == "y" * na.PREFIX_CHARS


def test_the_package_holds_one_annotation_per_excerpt_row(package_annotations, conn):
    rows = excerpt_rows(conn)
    found = {}
    for a in package_annotations["@graph"]:
        _, table, row_id = a["id"].removesuffix(".jsonld").rsplit("/", 2)
        found[(table, row_id)] = a
    assert found.keys() == rows.keys() and len(package_annotations["@graph"]) == len(rows)
    for key, a in found.items():
        row = rows[key]
        quote, position = a["target"]["selector"]
        assert a["target"]["source"] == f"/nk_russia/documents/{row['document_id']}"
        assert quote["exact"] == row["excerpt"] and (position["start"], position["end"]) == (row["char_start"], row["char_end"])
        assert a["body"][0]["purpose"] == "describing" and a["body"][0]["value"]


def test_the_package_expands_under_pyld_with_the_local_context(package_annotations):
    expanded = jsonld.expand(package_annotations, {"documentLoader": offline_loader, "base": "https://site.test/"})
    annotations = [n for n in expanded if f"{OA}Annotation" in n.get("@type", [])]
    assert len(annotations) == len(package_annotations["@graph"])
    for node in annotations:
        (target,) = node[f"{OA}hasTarget"]
        assert target[f"{OA}hasSource"][0]["@id"].startswith("https://site.test/nk_russia/documents/")
        kinds = {s["@type"][0] for s in target[f"{OA}hasSelector"]}
        assert kinds == {f"{OA}TextQuoteSelector", f"{OA}TextPositionSelector"}
        assert node[f"{OA}hasBody"] and node[f"{OA}motivatedBy"] == [{"@id": f"{OA}describing"}]


def test_the_offline_loader_refuses_any_other_context():
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand({"@context": "http://example.org/other.jsonld", "a": 1}, {"documentLoader": offline_loader})


def test_every_annotation_reanchors_in_its_seed_from_its_quote_selector_alone(package_annotations):
    texts = {}
    for a in package_annotations["@graph"]:
        doc_id = a["target"]["source"].rsplit("/", 1)[1]
        text = texts.setdefault(doc_id, (SEEDS / f"{doc_id}.txt").read_text(encoding="utf-8"))
        quote, position = a["target"]["selector"]
        found = TextQuoteSelector(exact=quote["exact"], prefix=quote["prefix"], suffix=quote["suffix"]).as_position(text)
        assert found is not None, a["id"]
        assert (found.start, found.end) == (position["start"], position["end"]), a["id"]


def test_each_row_is_served_as_its_annotation(site, package_annotations):
    by_id = {a["id"]: a for a in package_annotations["@graph"]}
    for table in na.TABLES:
        first = next(i for i in by_id if i.startswith(f"/nk_russia/{table}/"))
        response = site(first)
        assert response.status_code == 200, first
        assert response.headers["content-type"].startswith("application/ld+json")
        served = response.json()
        assert served.pop("@context") == na.CONTEXT
        assert json.loads(json.dumps(served).replace("http://localhost/", "/")) == by_id[first]
        expanded = jsonld.expand(response.json(), {"documentLoader": offline_loader})
        assert expanded[0]["@id"] == f"http://localhost{first}"


def test_jsonld_of_a_table_without_excerpts_is_not_found(site):
    assert site("/nk_russia/actors/nato.jsonld").status_code == 404
    assert site("/nk_russia/appearances/no-such-row.jsonld").status_code == 404


def test_the_stream_is_one_json_document_at_any_size(generated_build, tmp_path):
    """2,000 synthetic appearances and their mentions, quotes and figures: valid JSON, one annotation a row."""
    from scripts.publish import export_annotations
    from .conftest import read_only
    conn = read_only(generated_build["db"])
    try:
        written = export_annotations(conn, tmp_path / "a.jsonld")
        rows = len(excerpt_rows(conn))
    finally:
        conn.close()
    assert written == rows == len(json.loads((tmp_path / "a.jsonld").read_text(encoding="utf-8"))["@graph"])
