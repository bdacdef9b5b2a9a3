// butterflyvi portal: uploads with progress, forms, self-refreshing pages.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf || "";
  const byId = (id) => document.getElementById(id);

  function api(method, url, body, json) {
    const headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    if (json) headers["Content-Type"] = "application/json";
    return fetch(url, { method, credentials: "same-origin", headers,
                        body: json ? JSON.stringify(body) : body });
  }

  function show(element, text) { element.textContent = text; element.hidden = false; }

  // A multipart form posted with a progress bar; on 202 the browser goes to the new job.
  function submitWithProgress(form, url, data) {
    const error = byId("form-error");
    const bar = byId("progress"), fill = byId("progress-fill"), text = byId("progress-text");
    const button = byId("submit");
    const request = new XMLHttpRequest();
    bar.hidden = false; button.disabled = true; error.hidden = true;
    text.textContent = data.has("url") ? "fetching the file…" : "uploading…";
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        const pct = Math.round(100 * e.loaded / e.total);
        fill.style.width = pct + "%"; text.textContent = `uploading… ${pct} %`;
      }
    });
    request.upload.addEventListener("load", () => { text.textContent = "checking the cells…"; });
    request.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
      if (request.status === 202) { window.location.href = "/jobs/" + answer.id; return; }
      show(error, answer.detail || `upload failed (${request.status})`);
      bar.hidden = true; button.disabled = false;
    });
    request.addEventListener("error", () => {
      show(error, "upload failed: the connection was interrupted.");
      bar.hidden = true; button.disabled = false;
    });
    request.open("POST", url);
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.send(data);
  }

  // The file or the link of an upload form, checked against the size limit.
  function attachInput(form, data) {
    const file = byId("file").files[0];
    const link = byId("url") ? byId("url").value.trim() : "";
    if (link) { data.append("url", link); return true; }
    if (!file) { show(byId("form-error"), "file: choose a file or give a link."); return false; }
    const maxMb = Number(form.dataset.maxMb);
    if (file.size > maxMb * 1024 * 1024) {
      show(byId("form-error"),
           `file: expected at most ${maxMb} MB, found ${(file.size / 1048576).toFixed(1)} MB.`);
      return false;
    }
    data.append("file", file, file.name);
    return true;
  }

  // New job: models filtered (and the first matching one chosen) by direction.
  const jobForm = byId("job-form");
  if (jobForm) {
    const direction = byId("direction"), model = byId("model");
    const filter = () => {
      let first = null;
      for (const option of model.options) {
        const ok = option.dataset.directions.split(",").includes(direction.value);
        option.hidden = !ok; option.disabled = !ok;
        if (ok && first === null) first = option;
      }
      if (model.selectedOptions.length === 0 || model.selectedOptions[0].disabled) {
        if (first) first.selected = true;
      }
    };
    direction.addEventListener("change", filter);
    filter();
    jobForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData();
      data.append("model", model.value);
      data.append("source", direction.value.split("->")[0]);
      if (attachInput(jobForm, data)) submitWithProgress(jobForm, "/api/v1/jobs", data);
    });
  }

  // Training a model from paired cells.
  const trainForm = byId("train-form");
  if (trainForm) {
    trainForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData();
      for (const name of ["name", "preset", "modalities", "epochs_pretrain", "epochs"]) {
        const value = byId(name).value.trim();
        if (value) data.append(name, value);
      }
      if (attachInput(trainForm, data)) submitWithProgress(trainForm, "/api/v1/models", data);
    });
  }

  // Settings: notification addresses and a test message.
  const settings = byId("settings-form");
  if (settings) {
    const result = byId("settings-result"), error = byId("settings-error");
    const answerOf = async (response) => {
      let body = {};
      try { body = await response.json(); } catch (e) { /* not JSON */ }
      return body;
    };
    settings.addEventListener("submit", async (event) => {
      event.preventDefault();
      result.hidden = true; error.hidden = true;
      const response = await api("PUT", "/api/v1/me",
        { email: byId("email").value.trim(), webhook: byId("webhook").value.trim() }, true);
      const body = await answerOf(response);
      if (response.ok) show(result, "Saved.");
      else show(error, body.detail || `saving failed (${response.status})`);
    });
    byId("test-notification").addEventListener("click", async () => {
      result.hidden = true; error.hidden = true;
      const response = await api("POST", "/api/v1/me/test-notification");
      const body = await answerOf(response);
      if (!response.ok) { show(error, body.detail || `failed (${response.status})`); return; }
      const word = (state) => (state === true ? "sent" : state === false ? "failed" : "not set");
      const sent = Object.entries(body).map(([channel, state]) => `${channel}: ${word(state)}`);
      show(result, "Test notification — " + sent.join("; "));
    });
  }

  // Administration: approve, revoke (after a confirmation), new token (shown once).
  const users = byId("users-table");
  if (users) {
    users.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const name = button.closest("tr").dataset.user, action = button.dataset.action;
      const questions = {
        revoke: `Revoke ${name}? Their tokens and sign-ins stop working at once.`,
        reset: `Give ${name} a new token? Their current token stops working.`,
      };
      if (questions[action] && !window.confirm(questions[action])) return;
      const response = await api("POST", `/api/v1/users/${encodeURIComponent(name)}/${action}`);
      let body = {};
      try { body = await response.json(); } catch (e) { /* not JSON */ }
      const result = byId("admin-result");
      if (!response.ok) { show(result, body.detail || `failed (${response.status})`); return; }
      if (body.token) {
        result.innerHTML = "";
        result.append(`New token for ${name} (shown once): `);
        const code = document.createElement("code");
        code.className = "token"; code.id = "new-token"; code.textContent = body.token;
        result.append(code);
        result.hidden = false;
      } else {
        window.location.reload();
      }
    });
  }

  // Job tracker and job page refresh while something is queued or running; an open log
  // stays open across refreshes.
  const table = byId("jobs-table");
  if (table && table.dataset.refresh === "on") setTimeout(() => window.location.reload(), 3000);
  const job = byId("job");
  if (job) {
    const details = job.querySelector("details.log");
    const key = "log-open-" + job.dataset.job;
    if (details) {
      if (window.sessionStorage.getItem(key) === "1") details.open = true;
      details.addEventListener("toggle", () => {
        window.sessionStorage.setItem(key, details.open ? "1" : "0");
      });
    }
    if (["queued", "running"].includes(job.dataset.status)) {
      setTimeout(() => window.location.reload(), 2000);
    }
    const cancel = byId("cancel");
    if (cancel) cancel.addEventListener("click", async () => {
      const running = ["queued", "running"].includes(job.dataset.status);
      const question = running ? "Cancel this job?"
        : "Delete this job and its results? This cannot be undone.";
      if (!window.confirm(question)) return;
      const answer = await api("DELETE", "/api/v1/jobs/" + job.dataset.job);
      if (answer.ok) window.location.href = "/jobs";
    });
  }
  const seen = byId("notices-seen");
  if (seen) seen.addEventListener("click", async () => {
    await api("POST", "/api/v1/notifications/seen");
    byId("notices").remove();
  });
})();
