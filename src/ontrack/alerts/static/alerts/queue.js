/* The triage queue's behaviours, kept out of the page (the Content-Security-Policy refuses
   inline scripts):

   - each row's time since raised ticks on without a reload, in the words the server first
     wrote ("12 min", "1 h 05 min", "2 d 3 h": alerts/durations.py);
   - the alerts ticked for a bulk acknowledgement stay ticked when the table refreshes itself
     (htmx swaps it every few seconds, which would otherwise clear them);
   - opted in per browser (localStorage), a critical alert that a refresh brings sounds a
     tone and shows a desktop notice naming its type only: an operating system's notice
     centre is no place for a person's name. */
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

  var OPT_IN_KEY = "ontrack.alerts.criticalNotify";
  var CRITICAL = "4";
  var seenCritical = new Set();
  var audio = null;

  function optedIn() {
    try {
      return window.localStorage.getItem(OPT_IN_KEY) === "1";
    } catch (e) {
      return false;
    }
  }

  function criticalRows() {
    return document.querySelectorAll("#queue tr[data-alert][data-priority='" + CRITICAL + "']");
  }

  function rememberCritical() {
    criticalRows().forEach(function (row) {
      seenCritical.add(row.getAttribute("data-alert"));
    });
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    var tone = audio.createOscillator();
    var gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain);
    gain.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  }

  function announce(kinds) {
    beep();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var body = kinds.length === 1 ? kinds[0] : kinds.length + " new: " + kinds.join(", ");
    new Notification("Critical alert", { body: body, tag: "ontrack-critical" });
  }

  function announceNewCritical() {
    var kinds = [];
    criticalRows().forEach(function (row) {
      var id = row.getAttribute("data-alert");
      if (!seenCritical.has(id)) kinds.push(row.getAttribute("data-kind"));
    });
    rememberCritical();
    if (kinds.length && optedIn()) announce(kinds);
  }

  function setUpOptIn() {
    var toggle = document.getElementById("critical-notify");
    if (!toggle) return;
    toggle.checked = optedIn();
    toggle.addEventListener("change", function () {
      try {
        window.localStorage.setItem(OPT_IN_KEY, toggle.checked ? "1" : "0");
      } catch (e) {
        toggle.checked = false;
        return;
      }
      if (toggle.checked && "Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
  }

  document.addEventListener("htmx:afterSwap", function () {
    restoreSelection();
    tick();
    announceNewCritical();
  });
  document.addEventListener("DOMContentLoaded", function () {
    rememberCritical();
    setUpOptIn();
    tick();
    window.setInterval(tick, TICK_MS);
  });
})();
