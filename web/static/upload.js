// Portiere dashboard: the source upload's progress bar. The upload form
// works without this file (and without htmx); with them, htmx sends it,
// this shows the bytes sent, refuses a file over the limit before sending
// it, and lets htmx show the server's answer to a refused file.
(function () {
  "use strict";
  function form() { return document.getElementById("upload-form"); }
  function show(loaded, total) {
    var wrap = document.getElementById("upload-progress-wrap");
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    if (!wrap || !bar) { return; }
    wrap.hidden = false;
    var pct = total > 0 ? Math.floor(100 * loaded / total) : 0;
    bar.max = 100;
    bar.value = pct;
    bar.textContent = pct + "%";
    if (status) { status.textContent = pct < 100 ? "Uploading… " + pct + "%" : "Uploaded; reading the file…"; }
  }
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var f = form();
    if (!f || !f.contains(ev.detail.elt)) { return; }
    var input = document.getElementById("source-file");
    var max = parseInt(f.getAttribute("data-max-bytes"), 10);
    var file = input && input.files && input.files[0];
    if (file && max > 0 && file.size > max) {
      ev.preventDefault();
      var result = document.getElementById("upload-result");
      if (result) {
        result.innerHTML = "";
        var p = document.createElement("p");
        p.className = "notice error";
        p.setAttribute("role", "alert");
        p.id = "upload-error";
        p.textContent = file.name + ": nothing was imported. The file is too large: " + file.size +
          " bytes, above the limit of " + max + " bytes. Split it, or ask your administrator to raise UPLOAD_MAX_BYTES.";
        result.appendChild(p);
      }
      return;
    }
    show(0, 1);
  });
  document.addEventListener("htmx:xhr:progress", function (ev) {
    var f = form();
    if (!f || !f.contains(ev.target)) { return; }
    if (ev.detail && ev.detail.lengthComputable) { show(ev.detail.loaded, ev.detail.total); }
  });
  document.addEventListener("htmx:afterRequest", function (ev) {
    var f = form();
    if (!f || !f.contains(ev.detail.elt)) { return; }
    var status = document.getElementById("upload-status");
    if (status) { status.textContent = ev.detail.successful ? "Done." : "The file was refused: see below."; }
  });
  // A refused file (409, 413, 422) comes back as the upload panel naming
  // the problem: show it instead of dropping it as htmx does with errors.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var f = form();
    var code = ev.detail.xhr && ev.detail.xhr.status;
    if (f && f.contains(ev.detail.elt) && (code === 409 || code === 413 || code === 422 || code === 400)) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
})();
