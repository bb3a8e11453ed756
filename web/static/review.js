// Portiere review queue: keyboard shortcuts and htmx glue. The queue works
// without this file (every action is a form); it adds j/k to move between
// items, a/r/o to approve, reject or override the current one, / to search
// the queue and ? for the help dialog.
(function () {
  "use strict";
  var current = -1;
  // swallow is set when a shortcut moved focus into a field, so that the
  // key's character (a keypress that follows the keydown) is not typed
  // into it.
  var swallow = false;

  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-item]")); }

  function select(i) {
    var list = items();
    if (list.length === 0) { return null; }
    current = Math.max(0, Math.min(i, list.length - 1));
    list.forEach(function (el, j) { el.classList.toggle("current", j === current); });
    var el = list[current];
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
    return el;
  }

  function currentItem() {
    var list = items();
    if (current < 0 || current >= list.length) { return select(0); }
    return list[current];
  }

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function click(item, action) {
    var btn = item && item.querySelector("button[data-action=" + action + "]");
    if (btn) { btn.click(); }
  }

  document.addEventListener("keydown", function (ev) {
    var help = document.getElementById("shortcut-help");
    if (!help || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (ev.key === "Escape" && typing(document.activeElement)) {
      var item = document.activeElement.closest("[data-item]");
      if (item) { item.focus(); }
      return;
    }
    if (typing(ev.target)) {
      // Enter in the override search asks the search again; it must not
      // submit the override with the first result.
      if (ev.key === "Enter" && ev.target.hasAttribute("data-override-search")) {
        ev.preventDefault();
        ev.target.dispatchEvent(new Event("search"));
      }
      return;
    }
    if (help.open && ev.key !== "?") { return; }
    switch (ev.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "a": click(currentItem(), "approve"); break;
      case "r": click(currentItem(), "reject"); break;
      case "o":
        var it = currentItem();
        var box = it && (it.querySelector("[data-override-search]") || it.querySelector("input[name=concept_id_manual]"));
        if (box) { box.focus(); }
        break;
      case "/":
        var q = document.getElementById("filter-q");
        if (q) { q.focus(); q.select(); }
        break;
      case "?":
        if (help.open) { help.close(); } else { help.showModal(); }
        break;
      default:
        return;
    }
    ev.preventDefault();
    swallow = true;
  });

  document.addEventListener("keypress", function (ev) {
    if (swallow) { ev.preventDefault(); }
    swallow = false;
  }, true);
  document.addEventListener("keyup", function () { swallow = false; });

  // Clicking or tabbing into an item makes it the current one.
  document.addEventListener("focusin", function (ev) {
    var item = ev.target.closest && ev.target.closest("[data-item]");
    if (!item) { return; }
    var i = items().indexOf(item);
    if (i >= 0 && i !== current) {
      current = i;
      items().forEach(function (el, j) { el.classList.toggle("current", j === current); });
    }
  });

  document.addEventListener("htmx:beforeSwap", function (ev) {
    // A refused decision (409 stale revision, 422) answers with the item
    // as it now stands and the reason: show it.
    var s = ev.detail.xhr.status;
    if (s === 409 || s === 422) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    // After a decision the item is replaced and focus fell to the page:
    // give it back to the current item.
    var a = document.activeElement;
    if (current >= 0 && (!a || a === document.body)) { select(current); }
  });
})();
