// Portiere dashboard: small progressive enhancements. Every page works
// without this file; it only adds the copy buttons.
(function () {
  "use strict";
  function announce(el, text) {
    if (el) { el.textContent = text; }
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) { return; }
    var field = document.getElementById(btn.getAttribute("data-copy"));
    var status = document.getElementById(btn.getAttribute("data-copy-status"));
    if (!field) { return; }
    field.focus();
    field.select();
    var done = function () { announce(status, "Copied to the clipboard."); };
    var manual = function () { announce(status, "Selected: press Ctrl+C (⌘C) to copy."); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, manual);
    } else {
      manual();
    }
  });
})();
