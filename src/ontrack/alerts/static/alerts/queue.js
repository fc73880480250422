/* The triage queue's behaviours, kept out of the page (the Content-Security-Policy refuses
   inline scripts):

   - each row's time since raised ticks on without a reload, in the words the server first
     wrote ("12 min", "1 h 05 min", "2 d 3 h": alerts/durations.py);
   - the alerts ticked for a bulk acknowledgement stay ticked when the table refreshes itself
     (htmx swaps it every few seconds, which would otherwise clear them). */
(function () {
  "use strict";

  var TICK_MS = 15000;

  function durationText(ms) {
    var minutes = Math.max(0, Math.floor(ms / 60000));
    var days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    var hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
    return minutes + " min";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.alert-age[datetime]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(since)) el.textContent = durationText(now - since);
    });
  }

  var selected = new Set();

  function boxes() {
    return document.querySelectorAll("input[type=checkbox][form=bulk-ack][name=alert]");
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.getAttribute("form") !== "bulk-ack") return;
    if (box.checked) selected.add(box.value);
    else selected.delete(box.value);
  });

  function restoreSelection() {
    var present = new Set();
    boxes().forEach(function (box) {
      present.add(box.value);
      box.checked = selected.has(box.value);
    });
    selected.forEach(function (id) {
      if (!present.has(id)) selected.delete(id);
    });
  }

  document.addEventListener("htmx:afterSwap", function () {
    restoreSelection();
    tick();
  });
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, TICK_MS);
  });
})();
