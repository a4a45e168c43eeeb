import datetime as dt

import pytest
import sqlalchemy as sa

from netbox_pipeline.staging import db, store
from netbox_pipeline.staging.models import Run


@pytest.fixture
def staging(staging_url):
    staging = db.open_staging(staging_url)
    yield staging
    staging.dispose()


def test_timestamps_come_back_aware_utc(staging):
    plus_two = dt.timezone(dt.timedelta(hours=2))
    local = dt.datetime(2025, 3, 1, 14, 30, tzinfo=plus_two)
    with staging.session() as s:
        run_id = store.start_run(s, "source")
        s.execute(sa.update(Run).where(Run.id == run_id).values(finished_at=local))
    with staging.session() as s:
        finished = store.get_run(s, run_id)["finished_at"]
    assert finished.tzinfo is not None and finished.utcoffset() == dt.timedelta(0)
    assert finished == dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.timezone.utc)


def test_naive_timestamps_are_refused(staging):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with staging.session() as s:
            run_id = store.start_run(s, "source")
            s.execute(sa.update(Run).where(Run.id == run_id).values(finished_at=dt.datetime(2025, 1, 1)))


def test_json_none_is_sql_null(staging):
    with staging.session() as s:
        run_id = store.start_run(s, "plan")
        store.save_plan(s, run_id, [{"object_type": "device", "natural_key": "a", "action": "create"}])
        nulls = s.execute(sa.text("SELECT count(*) FROM plan_items WHERE changes IS NULL")).scalar()
    assert nulls == 1
