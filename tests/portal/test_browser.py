"""A real browser (Debian's Chromium, driven by Playwright) uses the portal as a person would:
sign in, upload the bundled demo RNA, pick a model, wait for the job, see the UMAP, download.

Screenshots go to the test's folder; with ``BUTTERFLYVI_UPDATE_SCREENSHOTS=1`` also to
``docs/_static/portal/`` (the pictures of ``docs/portal.md``).
"""

from __future__ import annotations

import os
import re
import shutil
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
    width = page.evaluate("document.getElementById('umap').naturalWidth")
    assert width > 100  # the picture loaded
    _shot(page, "job", tmp_path)
    with page.expect_download() as download_info:
        page.click("#download")
    downloaded = tmp_path / "result.h5ad"
    download_info.value.save_as(downloaded)
    result = ad.read_h5ad(downloaded)
    assert result.n_obs == 60 and "leiden" in result.obs and "X_umap" in result.obsm

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
