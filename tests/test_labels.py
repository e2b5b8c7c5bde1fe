"""plugins/nk_labels.py: pages show each code's declared label; data, filters and exports keep the ASCII code."""
from scripts.schema import category_labels


def test_table_page_shows_labels_and_filters_on_the_code(site, pkg, conn):
    expected = conn.execute("select count(*) from weapon_mentions where direction = 'ru_to_kp'").fetchone()[0]
    assert expected > 0
    page = site("/nk_russia/weapon_mentions?direction=ru_to_kp&_size=max")
    assert page.status_code == 200
    label = category_labels(pkg)["direction"]["ru_to_kp"]
    assert page.text.count(f'data-code="ru_to_kp">{label}</span>') == expected
    assert f">kp_to_ru<" not in page.text


def test_exports_keep_the_code_not_the_label(site):
    rows = site("/nk_russia/claims.json?_shape=array&direction=kp_to_ru&_size=max").json()
    assert rows and {r["direction"] for r in rows} == {"kp_to_ru"}
    assert "North Korea → Russia" not in site("/nk_russia/claims.csv?_size=max").text


def test_citation_names_the_direction_in_words(site, conn):
    mention = conn.execute("select id from weapon_mentions where direction = 'kp_to_ru' order by id limit 1").fetchone()[0]
    page = site(f"/nk_russia/weapon_mentions/{mention}")
    assert "North Korea → Russia), according to" in page.text
