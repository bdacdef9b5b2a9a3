"""A real browser (Debian's Chromium, driven by Playwright) uses the portal as a person would:
sign in, upload the bundled demo RNA, pick a model, wait for the job, see the UMAP, download.

Screenshots go to the test's folder; with ``BUTTERFLYVI_UPDATE_SCREENSHOTS=1`` also to
``docs/_static/portal/`` (the pictures of ``docs/portal.md``).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import anndata as ad
import pytest

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS_PICTURES = Path(__file__).resolve().parents[2] / "docs" / "_static" / "portal"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _shot(page, name: str, folder: Path) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("BUTTERFLYVI_UPDATE_SCREENSHOTS") == "1":
        DOCS_PICTURES.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_PICTURES / path.name)


def test_sign_in_upload_translate_and_download_in_a_browser(portal, rna_files, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(portal.url)
    assert page.url.endswith("/signin")
    page.fill("#token", "bfv_wrong")
    page.click("#signin")
    assert "not known" in page.inner_text("[role=alert]")
    _shot(page, "signin", tmp_path)
    page.fill("#token", portal.admin_token)
    page.click("#signin")
    page.wait_for_url("**/jobs")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["bfv_session"]["httpOnly"] and cookies["bfv_session"]["sameSite"] == "Strict"

    page.click("#nav-new")
    page.select_option("#direction", "rna->atac")
    page.select_option("#model", "mouse-cortex-rna-atac")
    page.set_input_files("#file", str(rna_files["small"]))
    _shot(page, "new_job", tmp_path)
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{16}$"), timeout=60_000)
    job_id = page.url.rstrip("/").split("/")[-1]
    page.wait_for_selector("#umap", timeout=180_000)  # the page refreshes until the job ends
    assert page.inner_text("#job-status") == "succeeded"
    assert "1,677 of the model's 1,677 rna features" in page.inner_text("#overlap")
    for picture in ("umap", "confidence-map"):  # the pictures loaded
        assert page.evaluate(f"document.getElementById('{picture}').naturalWidth") > 100
    assert page.is_visible("#types-table")
    _shot(page, "job", tmp_path)
    with page.expect_download() as download_info:
        page.click("#download")
    downloaded = tmp_path / "result.h5ad"
    download_info.value.save_as(downloaded)
    result = ad.read_h5ad(downloaded)
    assert result.n_obs == 60 and "predicted_cell_type" in result.obs
    assert "X_reference_umap" in result.obsm and {"lower", "upper"} <= set(result.layers)

    page.click("#nav-jobs")
    page.wait_for_selector(f"tr[data-job='{job_id}'][data-status='succeeded']")
    _shot(page, "jobs", tmp_path)
    page.click("#nav-models")
    assert page.is_visible("#model-mouse-cortex-rna-atac")
    _shot(page, "models", tmp_path)

    # A state-changing call without the page's CSRF token is refused.
    status = page.evaluate(
        f"fetch('/api/v1/jobs/{job_id}', {{method: 'DELETE'}}).then(r => r.status)"
    )
    assert status == 403
    context.close()


def test_narrow_screens_get_a_usable_layout(portal, browser, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.goto(f"{portal.url}/signin")
    page.fill("#token", portal.admin_token)
    page.click("#signin")
    page.wait_for_url("**/jobs")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow
    _shot(page, "jobs_phone", tmp_path)
    context.close()


def _sign_in(page, url: str, token: str) -> None:
    page.goto(f"{url}/signin")
    page.fill("#token", token)
    page.click("#signin")
    page.wait_for_url("**/jobs")


def _no_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_sign_up_approval_settings_training_and_layouts(rna_files, browser, tmp_path):
    from _portal import start_portal

    portal = start_portal(
        tmp_path / "data", "--registration", "approval", "--allow-private-urls", workers=1
    )
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(rna_files["small"].parent)
    )
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("dialog", lambda dialog: dialog.accept())  # confirmations are answered "yes"

        # sign-up: the token is shown once and works only after an administrator approves
        page.goto(f"{portal.url}/signup")
        page.fill("#name", "fay")
        page.fill("#email", "fay@lab.org")
        page.click("#signup")
        token = page.inner_text("#token").strip()
        assert token.startswith("bfv_") and page.is_visible("#pending")
        _shot(page, "signup_token", tmp_path)
        page.goto(f"{portal.url}/signin")
        page.fill("#token", token)
        page.click("#signin")
        assert "/signin" in page.url
        _sign_in(page, portal.url, portal.admin_token)
        page.click("#nav-admin")
        page.click("tr[data-user='fay'] button[data-action='approve']")
        page.wait_for_selector(
            "tr[data-user='fay'] button[data-action='approve']", state="detached"
        )
        assert "pending" not in page.inner_text("tr[data-user='fay']")
        _shot(page, "admin", tmp_path)
        page.click(".signout button")
        _sign_in(page, portal.url, token)

        # settings: saved from the page, read back from the API
        page.click("#nav-settings")
        page.fill("#email", "fay@example.org")
        page.click("#save-settings")
        page.wait_for_selector("#settings-result:not([hidden])")
        page.click("#test-notification")
        page.wait_for_function(
            "document.getElementById('settings-result').textContent.includes('Test')"
        )
        with portal.client(token) as client:
            assert client.get("/api/v1/me").json()["email"] == "fay@example.org"
        _shot(page, "settings", tmp_path)

        # a job from a link instead of a file
        page.click("#nav-new")
        page.select_option("#direction", "rna->atac")
        page.select_option("#model", "mouse-cortex-rna-atac")
        link = f"http://127.0.0.1:{files.server_address[1]}/{rna_files['small'].name}"
        page.fill("#url", link)
        page.click("#submit")
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{16}$"), timeout=60_000)
        page.wait_for_selector("#job[data-status='succeeded']", timeout=180_000)
        assert page.is_visible("#umap")

        # training from the page; the job page shows its progress, then the model is listed
        page.goto(f"{portal.url}/models/new")
        page.fill("#name", "fays-cortex")
        page.fill("#epochs_pretrain", "1")
        page.fill("#epochs", "2")
        page.set_input_files("#file", str(rna_files["mudata"]))
        page.click("#submit")
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{16}$"), timeout=60_000)
        page.click("details.log summary")  # an open log stays open across refreshes
        page.wait_for_selector("#job[data-status='succeeded']", timeout=240_000)
        assert page.evaluate("document.querySelector('details.log').open")
        page.click("#nav-models")
        assert page.is_visible("#model-fays-cortex")

        # no sideways scrolling on a laptop or a phone, on every page
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            for path in ("/jobs", "/jobs/new", "/models", "/models/new", "/settings"):
                page.goto(f"{portal.url}{path}")
                assert _no_overflow(page), (width, path)
        _shot(page, "settings_phone", tmp_path)

        # deleting a job asks first (answered yes here) and removes it
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{portal.url}/jobs")
        page.click("table tr[data-job] a")
        page.click("#cancel")
        page.wait_for_url("**/jobs")
        with portal.client(token) as client:
            assert len(client.get("/api/v1/jobs").json()) == 1  # of the two jobs
        context.close()
    finally:
        portal.stop()
        files.shutdown()
