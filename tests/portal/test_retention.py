"""``--keep-days``: ended jobs older than the setting go with their files; newer ones and
running ones stay."""

from __future__ import annotations

import time

from butterflyvi.portal._db import Database
from butterflyvi.portal._server import expire_jobs
from butterflyvi.portal._settings import Settings


def test_old_ended_jobs_are_removed_with_their_files(tmp_path):
    settings = Settings(data_dir=tmp_path, keep_days=7)
    db = Database(tmp_path / "portal.db")
    user = db.add_user("ann")
    jobs = {name: db.add_job(user, "translate") for name in ("old", "recent", "running")}
    for name, job_id in jobs.items():
        folder = settings.job_dir(user, job_id)
        folder.mkdir(parents=True)
        (folder / "result.h5ad").write_bytes(b"cells")
        if name != "running":
            db.finish(job_id, "succeeded")
    with db.connect() as sql:  # as if the clock had moved on (the API never sets these)
        sql.execute(
            "UPDATE jobs SET finished = ? WHERE id = ?", (time.time() - 8 * 86400, jobs["old"])
        )
        sql.execute(
            "UPDATE jobs SET created = ? WHERE id = ?", (time.time() - 30 * 86400, jobs["running"])
        )

    assert expire_jobs(settings, db) == 1
    assert db.job(jobs["old"]) is None
    assert not settings.job_dir(user, jobs["old"]).exists()
    for name in ("recent", "running"):
        assert db.job(jobs[name]) is not None
        assert (settings.job_dir(user, jobs[name]) / "result.h5ad").is_file()
    assert expire_jobs(Settings(data_dir=tmp_path), db) == 0  # no --keep-days: keep all
