"""Human labels for categorical codes on HTML pages.

Codes such as `ru_to_kp` stay in the data, filters, SQL and exports (ASCII, easy to type); the page shows
the label declared beside the enum in data/datapackage.json (`categories`), which the build copies into
the metadata as `category_labels` (column → {code: label}).
"""
import weakref

from datasette import hookimpl
from markupsafe import Markup, escape


def labelled(value: str, label: str) -> Markup:
    # The code stays visible on hover and in the data-code attribute, so readers learn what to filter on.
    return Markup(f'<span class="nk-code" title="{escape(value)}" data-code="{escape(value)}">{escape(label)}</span>')


# render_cell runs for every cell of every page: look the labels up once per Datasette instance.
_LABELS = weakref.WeakKeyDictionary()


def labels(datasette) -> dict[str, dict[str, str]]:
    if datasette not in _LABELS:
        _LABELS[datasette] = datasette.metadata("category_labels") or {}
    return _LABELS[datasette]


@hookimpl
def render_cell(value, column, datasette):
    if not isinstance(value, str):
        return None
    label = labels(datasette).get(column, {}).get(value)
    return labelled(value, label) if label else None
