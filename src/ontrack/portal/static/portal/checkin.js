/* Participant check-in, offline-first.
 *
 * A check-in (or a technical failure) is first written to IndexedDB with the time it was
 * made on the phone and a random client_ref, then sent. It leaves the phone's outbox only
 * when the server answers with a receipt; otherwise it is sent again on page load, when
 * the phone comes back online, and every 30 seconds. The server is idempotent on
 * client_ref, so sending twice is harmless. No build step, no library.
 */
(function () {
  "use strict";
  var body = document.body;
  var cfg = body.dataset;
  var DB = "ontrack-portal", STORE = "outbox";
  var flushing = false;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "client_ref" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), out = fn(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(out && out.result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  function put(item) { return tx("readwrite", function (s) { return s.put(item); }); }
  function remove(ref) { return tx("readwrite", function (s) { return s.delete(ref); }); }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }

  function show(text, cls, reference) {
    var box = document.getElementById("outbox-status");
    if (!box) { return; }
    box.hidden = false;
    box.className = "card " + (cls || "");
    box.textContent = text;
    if (reference) {
      var ref = document.createElement("div");
      ref.className = "ref";
      ref.id = "receipt-reference";
      ref.textContent = reference;
      box.appendChild(ref);
    }
  }

  function send(item) {
    var form = new FormData();
    form.append("client_ref", item.client_ref);
    form.append("attempted_at", item.attempted_at);
    var url = cfg.submitUrl;
    if (item.kind === "failure") {
      url = cfg.failureUrl;
      form.append("reason", item.reason);
      form.append("detail", item.detail || "");
    } else {
      form.append("photo", item.photo, "checkin.jpg");
      if (item.lat !== null) {
        form.append("lat", item.lat);
        form.append("lon", item.lon);
        form.append("accuracy_m", item.accuracy_m);
      }
    }
    return fetch(url, {
      method: "POST", body: form, credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": cfg.csrf, "Accept": "application/json" }
    }).then(function (resp) {
      if (resp.ok) {
        return resp.json().then(function (data) {
          return remove(item.client_ref).then(function () {
            var note = item.kind === "failure" ? cfg.msgFailure + " " : "";
            show(note + data.message, "receipt", data.reference);
          });
        });
      }
      if (resp.status === 400 || resp.status === 422) {
        return remove(item.client_ref).then(function () { show(cfg.msgRefused, "error"); });
      }
      throw new Error("not delivered: " + resp.status);
    });
  }

  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return all().then(function (items) {
      // A shared phone: only this participant's own attempts go with this session.
      items = items.filter(function (item) { return item.participant === cfg.participant; });
      return items.reduce(function (chain, item) {
        return chain.then(function () { return send(item); });
      }, Promise.resolve());
    }).catch(function () {
      show(cfg.msgSaved, "");
    }).then(function () { flushing = false; });
  }

  function keep(item) {
    item.participant = cfg.participant;
    show(cfg.msgSending, "");
    return put(item).then(flush);
  }

  function position() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject(new Error("geolocation unavailable")); return; }
      navigator.geolocation.getCurrentPosition(resolve, reject,
        { enableHighAccuracy: true, timeout: 30000, maximumAge: 0 });
    });
  }

  function failure(ref, attemptedAt, reason, detail) {
    return keep({ kind: "failure", client_ref: ref, attempted_at: attemptedAt,
                  reason: reason, detail: detail });
  }

  var checkinForm = document.getElementById("checkin-form");
  if (checkinForm) {
    var ref = checkinForm.dataset.clientRef;
    checkinForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var attemptedAt = new Date().toISOString();
      var file = document.getElementById("photo").files[0];
      if (!file) { failure(ref, attemptedAt, "camera", "no photo taken"); return; }
      checkinForm.hidden = true;
      position().then(function (pos) {
        return keep({ kind: "checkin", client_ref: ref, attempted_at: attemptedAt, photo: file,
                      lat: pos.coords.latitude, lon: pos.coords.longitude,
                      accuracy_m: pos.coords.accuracy });
      }, function (err) {
        return failure(ref, attemptedAt, "location", (err && err.message) || "location refused");
      });
    });
    document.getElementById("no-camera").addEventListener("click", function () {
      checkinForm.hidden = true;
      failure(ref, new Date().toISOString(), "camera", "participant said the camera does not work");
    });
  }

  window.addEventListener("online", flush);
  setInterval(flush, 30000);
  flush();
  window.ontrackPortalFlush = flush;
}());
