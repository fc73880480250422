/* Participant check-in, offline-first.
 *
 * A check-in (or a technical failure) is first written to IndexedDB with the time it was
 * made on the phone and a random client_ref, then sent. It leaves the phone's outbox only
 * when the server answers with a receipt; otherwise it is sent again on page load, when
 * the phone comes back online, and every 30 seconds. The server is idempotent on
 * client_ref, so sending twice is harmless. No build step, no library.
 *
 * An upload the server refuses (400/413/422, e.g. a photo over the size limit) would never
 * succeed however often it is sent: it is replaced by a technical failure ("upload") with
 * the status and the server's reason, so the officer gets a task and the window is not
 * counted as missed. A check-in still not delivered after RETRY_LIMIT tries past the
 * window's end is reported the same way (and itself kept and still sent). The photo is
 * made smaller on the phone first (at most 1280 px, JPEG 0.8): a few hundred kB, not
 * several MB, on a slow connection.
 */
(function () {
  "use strict";
  var body = document.body;
  var cfg = body.dataset;
  var DB = "ontrack-portal", STORE = "outbox";
  var flushing = false;
  var RETRY_LIMIT = 5, MAX_SIDE = 1280, QUALITY = 0.8;
  var REFUSED = { 400: true, 413: true, 422: true };

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

  function newRef() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  function reasonOf(resp) {
    return resp.text().then(function (text) {
      try { text = JSON.parse(text).error || text; } catch (e) { /* plain text */ }
      return String(text).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200);
    }, function () { return ""; });
  }

  function report(item, detail, note) {
    var failureItem = { kind: "failure", client_ref: item.client_ref, attempted_at: item.attempted_at,
                        reason: "upload", detail: detail, note: note,
                        participant: item.participant };
    return put(failureItem).then(function () { return send(failureItem); });
  }

  function refused(item, resp) {
    return reasonOf(resp).then(function (why) {
      return remove(item.client_ref).then(function () {
        if (item.kind === "failure") { show(cfg.msgRefused, "error"); return; }
        // The same client_ref: the refused check-in was never saved, and a repeat of this
        // report is answered with the same receipt.
        return report(item, "HTTP " + resp.status + (why ? ": " + why : ""),
                      cfg.msgUploadRefused + (why ? " (" + why + ")" : ""));
      });
    });
  }

  function triedInVain(item, what) {
    if (item.kind !== "checkin" || !item.closes_at || Date.now() <= Date.parse(item.closes_at)) {
      return Promise.resolve();
    }
    item.late_tries = (item.late_tries || 0) + 1;
    var due = item.late_tries >= RETRY_LIMIT && !item.reported;
    item.reported = item.reported || due;
    return put(item).then(function () {
      if (!due) { return; }
      return report({ client_ref: newRef(), attempted_at: item.attempted_at,
                      participant: item.participant },
                    item.late_tries + " tries failed after the window closed (" + what + ")",
                    cfg.msgUploadLate).catch(function () { /* sent with the next flush */ });
    });
  }

  /* Once the officer has been told, the page keeps saying so rather than "saved on this
   * phone" at each retry. */
  function undelivered(item, err) {
    err = err || new Error("not delivered");
    err.quiet = !!item.reported;
    return err;
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
            show((item.note ? item.note + " " : "") + note + data.message, "receipt",
                 data.reference);
          });
        });
      }
      if (REFUSED[resp.status]) { return refused(item, resp); }
      return triedInVain(item, "HTTP " + resp.status).then(function () {
        throw undelivered(item, new Error("not delivered: " + resp.status));
      });
    }, function (err) {
      return triedInVain(item, "no connection").then(function () { throw undelivered(item, err); });
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
    }).catch(function (err) {
      if (!(err && err.quiet)) { show(cfg.msgSaved, ""); }
    }).then(function () { flushing = false; });
  }

  function keep(item) {
    item.participant = cfg.participant;
    show(cfg.msgSending, "");
    return put(item).then(flush);
  }

  /* A JPEG of what a <video> or <img> shows, at most MAX_SIDE px on its longer side. */
  function drawn(source, w, h) {
    return new Promise(function (resolve) {
      var scale = Math.min(1, MAX_SIDE / Math.max(w, h, 1));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { resolve({ blob: blob, scale: scale }); }, "image/jpeg", QUALITY);
    });
  }

  /* A photo of at most MAX_SIDE px on its longer side, as JPEG; the original when the
   * browser cannot decode it (the server then judges it as it is). */
  function downscale(file) {
    return new Promise(function (resolve) {
      if (!window.URL || !document.createElement("canvas").toBlob) { resolve(file); return; }
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () {
        URL.revokeObjectURL(url);
        drawn(img, img.naturalWidth, img.naturalHeight).then(function (out) {
          resolve(out.blob && (out.scale < 1 || out.blob.size < file.size) ? out.blob : file);
        });
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
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
    var ref = checkinForm.dataset.clientRef, closesAt = checkinForm.dataset.closesAt;
    var photoInput = document.getElementById("photo"), taken = null;
    /* Where the browser can open the camera itself, offer only that (asked on the press);
     * the file picker is the fallback: for browsers that cannot, and for a camera the
     * browser has but cannot open (none found, busy), where the phone's own camera app may
     * still work. A camera the person refused is a technical failure, as before. */
    var picker = document.getElementById("file-picker");
    var camera = document.getElementById("camera");
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      var view = document.getElementById("camera-view");
      var shoot = document.getElementById("take-photo");
      var REFUSALS = { NotAllowedError: true, SecurityError: true };
      picker.hidden = true;
      photoInput.required = false;
      camera.hidden = false;
      document.getElementById("open-camera").addEventListener("click", function () {
        var opener = this;
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
          .then(function (stream) {
            opener.hidden = true;
            view.srcObject = stream;
            view.hidden = false;
            shoot.hidden = false;
          }, function (err) {
            if (!(err && REFUSALS[err.name])) {
              camera.hidden = true;
              picker.hidden = false;
              photoInput.required = true;
              return;
            }
            checkinForm.hidden = true;
            failure(ref, new Date().toISOString(), "camera",
                    ((err && err.name) || "camera") + ": " + ((err && err.message) || "refused"));
          });
      });
      shoot.addEventListener("click", function () {
        drawn(view, view.videoWidth, view.videoHeight).then(function (out) {
          view.srcObject.getTracks().forEach(function (track) { track.stop(); });
          view.hidden = true;
          shoot.hidden = true;
          taken = out.blob;
          photoInput.required = false;
          var img = document.getElementById("photo-taken");
          img.src = URL.createObjectURL(taken);
          img.hidden = false;
        });
      });
    }
    checkinForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var attemptedAt = new Date().toISOString();
      var file = photoInput.files[0] || taken;
      if (!file) { failure(ref, attemptedAt, "camera", "no photo taken"); return; }
      checkinForm.hidden = true;
      Promise.all([position(), downscale(file)]).then(function (got) {
        var pos = got[0];
        return keep({ kind: "checkin", client_ref: ref, attempted_at: attemptedAt, photo: got[1],
                      closes_at: closesAt, lat: pos.coords.latitude,
                      lon: pos.coords.longitude, accuracy_m: pos.coords.accuracy });
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
