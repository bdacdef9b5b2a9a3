"""Notifications when a job ends: in the page, by webhook, by e-mail (with SMTP settings)."""

from __future__ import annotations

import logging
import smtplib
import time
from email.message import EmailMessage

import httpx

from ._db import Database
from ._settings import Settings
from ._urls import AddressRefused, check_url

#: Attempts of a webhook POST (connection errors and 5xx answers are retried).
WEBHOOK_ATTEMPTS = 3
#: Seconds a webhook may take to connect and answer.
WEBHOOK_TIMEOUT = 5.0

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
        send_webhook(user["webhook"], payload, allow_private=settings.allow_private_urls)
    if user and user.get("email") and settings.smtp is not None:
        send_email(
            settings, user["email"], f"butterflyvi: job {job['id']} {job['status']}", message
        )


def notify_test(settings: Settings, db: Database, user: dict) -> dict[str, bool | None]:
    """A test message by every channel the user has; whether each arrived (``None``: the
    channel is not set up).
    """
    message = f"Test notification for {user['name']}: this channel works."
    db.notify(user["id"], message)
    sent: dict[str, bool | None] = {"page": True, "webhook": None, "email": None}
    if user.get("webhook"):
        sent["webhook"] = send_webhook(
            user["webhook"],
            {"status": "test", "message": message},
            allow_private=settings.allow_private_urls,
        )
    if user.get("email") and settings.smtp is not None:
        sent["email"] = send_email(
            settings, user["email"], "butterflyvi: test notification", message
        )
    return sent


def send_webhook(url: str, payload: dict, *, allow_private: bool = False) -> bool:
    """POST ``payload`` as JSON to ``url``: a public address (unless ``allow_private``), a
    timeout, retries with back-off; failures are logged, never raised. Whether it arrived.
    """
    try:
        check_url(url, allow_private=allow_private, argument="webhook")
    except AddressRefused as refused:
        logger.warning("webhook not sent: %s", refused)
        return False
    headers = {"User-Agent": "butterflyvi-portal"}
    with httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as client:
        for attempt in range(WEBHOOK_ATTEMPTS):
            try:
                response = client.post(url, json=payload, headers=headers)
                if response.status_code < 500:
                    if response.is_error:
                        logger.warning("webhook %s answered %d", url, response.status_code)
                    return response.is_success
            except httpx.HTTPError as error:
                logger.warning("webhook %s failed (attempt %d): %s", url, attempt + 1, error)
            time.sleep(0.5 * 2**attempt)
    return False


def send_email(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one e-mail through the configured SMTP server (failures logged); whether it was
    accepted.
    """
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
        return False
    return True
