"""NetBox 4.7's answer to a failed bulk write, built here and nowhere else.

4.3–4.6 answer a refused bulk create with a list aligned to the request (`{}` for a valid item), a
refused bulk update with the first refused object's errors alone, and skip ids that do not exist.
4.7 answers one object, `{"detail": "N of M objects <outcome>.", "errors": [...]}`, each entry naming a
failed item by `index` (its place in the request) or, once the item is matched to an object, by `id`.
A bulk PATCH / PUT / DELETE is checked in stages, the first failing stage answering alone: the body
is a list; each entry has an integer `id` (by index); no id is repeated; every id exists (by id); then
each object is written (by id; a delete that dependents prevent is a 409). Checked side by side with the
real 4.7.3 (netbox_pipeline_tests/netbox/test_bulk_refusals.py).
"""

import re
from collections import Counter
from typing import Any

from .store import Store
from .writes import NON_FIELD, REQUIRED, Invalid

# DRF's IntegerField reads "7", 7.0 and "7.00" as 7 (and "abc" or true as not an integer).
_INTEGRAL_SUFFIX = re.compile(r"\.0*\s*$")


def refusal(failed: list[dict[str, Any]], total: int, outcome: str, status: int = 400) -> Invalid:
    return Invalid({"detail": f"{len(failed)} of {total} objects {outcome}.", "errors": failed}, status)


def by_index(errors: list[Any]) -> list[dict[str, Any]]:
    """The entries for a list of errors aligned with the request (`{}` for an accepted item)."""
    return [{"index": i, "errors": e} for i, e in enumerate(errors) if e]


def identified(body: Any) -> list[int]:
    """The ids a bulk PATCH / PUT / DELETE names, once its body and entries pass 4.7's checks."""
    if not isinstance(body, list):
        if body is None or body == {} or body == "":
            raise Invalid({"detail": "Expected a list of objects, but no data was submitted."})
        raise Invalid({"detail": f"Expected a list of objects, but got {type(body).__name__}."})
    read = [_entry_id(item) for item in body]
    if any(errors for _, errors in read):
        raise refusal(by_index([errors for _, errors in read]), len(body), "failed validation")
    ids = [object_id for object_id, _ in read if object_id is not None]
    repeated = [{"id": i, "errors": {"id": [f"Each object may be specified only once; ID {i} is listed {n} times"]}}
                for i, n in Counter(ids).items() if n > 1]
    if repeated:
        raise refusal(repeated, len(ids), "are listed more than once")
    return ids


def _entry_id(item: Any) -> tuple[int | None, dict[str, list[str]]]:
    if not isinstance(item, dict):
        return None, {NON_FIELD: [f"Invalid data. Expected a dictionary, but got {type(item).__name__}."]}
    if "id" not in item:
        return None, {"id": [REQUIRED]}
    if item["id"] is None:
        return None, {"id": ["This field may not be null."]}
    try:
        return int(_INTEGRAL_SUFFIX.sub("", str(item["id"]))), {}
    except ValueError:
        return None, {"id": ["A valid integer is required."]}


def all_found(store: Store, endpoint: str, ids: list[int]) -> None:
    """A bulk PATCH / PUT / DELETE naming an id that does not exist is refused whole (4.4 / 4.6 skip it)."""
    absent = [i for i in ids if store.get(endpoint, i) is None]
    if absent:
        raise refusal([{"id": i, "errors": {"id": [f"Object with ID {i} does not exist"]}} for i in absent],
                      len(ids), "could not be found")
