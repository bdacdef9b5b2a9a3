"""Notifications when a job ends: in the page, by webhook, by e-mail (with SMTP settings)."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage

from ._db import Database
from ._settings import Settings

logger = logging.getLogger("butterflyvi.portal.notify")


def summary(job: dict) -> str:
    """One line about an ended job."""
    what = (
        f"model {job['options'].get('name')!r}"
        if job["kind"] == "train"
        else f"{job['source']} → {job['target']} with {job['model']}"
    )
    text = f"Job {job['id']} ({what}) {job['status']}"
    if job["status"] == "failed" and job.get("error"):
        text += f": {job['error'][:300]}"
    return text + "."


def notify_finished(settings: Settings, db: Database, job_id: str) -> None:
    """Tell the job's owner that it ended, by every channel they have."""
    job = db.job(job_id)
    if job is None:
        return
    user = db.user(job["user_id"])
    message = summary(job)
    db.notify(job["user_id"], message, job_id)
    payload = {
        "id": job["id"],
        "status": job["status"],
        "kind": job["kind"],
        "model": job["model"],
        "source": job["source"],
        "target": job["target"],
        "error": job["error"],
        "message": message,
    }
    if user and user.get("webhook"):
        send_webhook(user["webhook"], payload)
    if user and user.get("email") and settings.smtp is not None:
        send_email(
            settings, user["email"], f"butterflyvi: job {job['id']} {job['status']}", message
        )


def send_webhook(url: str, payload: dict) -> None:
    """POST ``payload`` as JSON to ``url`` (failures are logged, never raised)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "butterflyvi-portal"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except Exception as error:
        logger.warning("webhook %s failed: %s", url, error)


def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one e-mail through the configured SMTP server (failures logged)."""
    smtp = settings.smtp
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username:
                server.login(smtp.username, smtp.password or "")
            server.send_message(message)
    except Exception as error:
        logger.warning("e-mail to %s failed: %s", to, error)
