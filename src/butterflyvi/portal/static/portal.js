// butterflyvi portal: upload with progress, direction filter, self-refreshing pages.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf || "";

  function api(method, url, body) {
    return fetch(url, { method, body, credentials: "same-origin",
                        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } });
  }

  // New job: models filtered by direction, upload with a progress bar.
  const form = document.getElementById("job-form");
  if (form) {
    const direction = document.getElementById("direction");
    const model = document.getElementById("model");
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
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = document.getElementById("file").files[0];
      const error = document.getElementById("form-error");
      error.hidden = true;
      if (!file) return;
      const maxMb = Number(form.dataset.maxMb);
      if (file.size > maxMb * 1024 * 1024) {
        error.textContent = `file: expected at most ${maxMb} MB, found ${(file.size / 1048576).toFixed(1)} MB.`;
        error.hidden = false; return;
      }
      const data = new FormData();
      data.append("model", model.value);
      data.append("source", direction.value.split("->")[0]);
      data.append("file", file, file.name);
      const request = new XMLHttpRequest();
      const bar = document.getElementById("progress");
      const fill = document.getElementById("progress-fill");
      const text = document.getElementById("progress-text");
      bar.hidden = false;
      document.getElementById("submit").disabled = true;
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
        error.textContent = answer.detail || `upload failed (${request.status})`;
        error.hidden = false; bar.hidden = true;
        document.getElementById("submit").disabled = false;
      });
      request.addEventListener("error", () => {
        error.textContent = "upload failed: the connection was interrupted."; error.hidden = false;
        document.getElementById("submit").disabled = false;
      });
      request.open("POST", "/api/v1/jobs");
      request.setRequestHeader("X-CSRF-Token", csrf);
      request.setRequestHeader("Accept", "application/json");
      request.send(data);
    });
  }

  // Job tracker and job page refresh while something is queued or running.
  const table = document.getElementById("jobs-table");
  if (table && table.dataset.refresh === "on") setTimeout(() => window.location.reload(), 3000);
  const job = document.getElementById("job");
  if (job) {
    if (["queued", "running"].includes(job.dataset.status)) {
      setTimeout(() => window.location.reload(), 2000);
    }
    const cancel = document.getElementById("cancel");
    if (cancel) cancel.addEventListener("click", async () => {
      const answer = await api("DELETE", "/api/v1/jobs/" + job.dataset.job);
      if (answer.ok) window.location.href = "/jobs";
    });
  }
  const seen = document.getElementById("notices-seen");
  if (seen) seen.addEventListener("click", async () => {
    await api("POST", "/api/v1/notifications/seen");
    document.getElementById("notices").remove();
  });
})();
