/* The alert page's map and device box. Everything comes from the endpoints the rest of the
   console uses (positions and device events of the tracking API with a time window, the
   participant's zones as GeoJSON, the device record), each of which checks who may see the
   participant and writes the access log itself. Plain Leaflet on the
   console's shared base map (ontrack/map.js); no tiles needed. */
(function () {
  "use strict";
  var COLOURS = {inclusion: "#1a7f37", exclusion: "#cf222e"};

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(url + ": " + r.status); } return r.json(); });
  }

  // Every page of a paged list of the API, following each page's cursor to the next.
  function getAllPages(url, rows) {
    return getJSON(url).then(function (page) {
      rows = (rows || []).concat(page.results);
      if (!page.next) { return rows; }
      var next = new URL(url, window.location.href);
      next.searchParams.set("cursor", page.next);
      return getAllPages(next.toString(), rows);
    });
  }

  function text(el, value) { if (el) { el.textContent = value; } }

  // The API's times are ISO-8601 in UTC; the page shows them on the office's clock, as the
  // times the server writes into it ("2026-12-06 13:26 EST"): the office's zone is the map's
  // data-time-zone, set when the page loads.
  var ZONE = "UTC";

  function officeTime(iso, seconds) {
    if (!iso) { return "never"; }
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    }).formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" +
      parts.minute + (seconds ? ":" + parts.second : "") + " " + parts.timeZoneName;
  }

  function zoneLayer(feature, highlighted) {
    var p = feature.properties, colour = COLOURS[p.kind] || "#555";
    var style = {color: colour, weight: highlighted ? 4 : 2, fillOpacity: 0.1};
    var layer;
    if (feature.geometry.type === "Point") {
      var c = feature.geometry.coordinates;
      layer = L.circle([c[1], c[0]], Object.assign({radius: p.radius_m}, style));
    } else {
      layer = L.geoJSON(feature.geometry, {style: function () { return style; }});
    }
    var schedule = (p.schedule || []).map(function (s) { return s.start + "–" + s.end; }).join(", ");
    return layer.bindTooltip(p.name + " (" + p.kind + (schedule ? ", " + schedule : "") + ")");
  }

  // A zone's bounds from its own coordinates (a circle's from its centre and radius), so
  // that they do not depend on the map's state.
  function zoneBounds(feature) {
    if (feature.geometry.type === "Point") {
      var c = feature.geometry.coordinates;
      return L.latLng(c[1], c[0]).toBounds(2 * feature.properties.radius_m);
    }
    return L.geoJSON(feature.geometry).getBounds();
  }

  function drawTrack(map, positions, occurred) {
    var group = L.featureGroup().addTo(map);
    if (!positions.length) { return group; }
    L.polyline(positions.map(function (p) { return [p.lat, p.lon]; }), {weight: 3}).addTo(group);
    var nearest = positions[0];
    positions.forEach(function (p) {
      if (Math.abs(Date.parse(p.time) - occurred) < Math.abs(Date.parse(nearest.time) - occurred)) {
        nearest = p;
      }
      if (p.accuracy_m) {
        L.circle([p.lat, p.lon], {radius: p.accuracy_m, weight: 1, fillOpacity: 0.08}).addTo(group);
      }
      L.circleMarker([p.lat, p.lon], {radius: 3}).bindTooltip(officeTime(p.time, true)).addTo(group);
    });
    L.circleMarker([nearest.lat, nearest.lon], {radius: 8, color: "#cf222e", weight: 3})
      .bindTooltip("Nearest the alert: " + officeTime(nearest.time, true)).addTo(group);
    return group;
  }

  function showDevice(box, device) {
    text(box.querySelector("[data-device-field=identifier]"), device.identifier);
    var battery = device.battery_pct === null ? "not reported" : device.battery_pct + " %";
    if (device.charging) { battery += " (charging)"; }
    text(box.querySelector("[data-device-field=battery]"), battery);
    text(box.querySelector("[data-device-field=last_seen]"), officeTime(device.last_seen_at));
    text(box.querySelector("[data-device-field=last_fix]"), officeTime(device.last_fix_time));
  }

  function showEvents(list, events) {
    list.textContent = "";
    if (!events.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No device events in this period.";
      list.appendChild(none);
    }
    events.forEach(function (e) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = e.time;
      time.textContent = officeTime(e.time, true);
      li.appendChild(time);
      // The unit's own code ("gt06:alarm:0x13") is for the technically minded: on hover.
      li.appendChild(document.createTextNode(e.kind.replace(/_/g, " ")));
      if (e.raw_code) { li.title = e.raw_code; }
      list.appendChild(li);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("alert-map");
    if (!el || typeof L === "undefined") { return; }
    ZONE = el.dataset.timeZone || "UTC";
    var summary = document.getElementById("alert-map-summary");
    // A view first: circles are projected when added, and their bounds need it.
    var map = OntrackMap.create(el).setView([39.5, -98.35], 4);
    var occurred = Date.parse(el.dataset.occurred);
    var eventsList = document.getElementById("device-events");
    // One request after another: each is a logged read, and a small page gains nothing from
    // racing them (on SQLite they would queue for the write lock anyway).
    var positions = [];
    var noFix = 0;
    getAllPages(el.dataset.positions).then(function (rows) {
      // Reports without a GPS fix are no place the person was: counted, never drawn.
      positions = rows.filter(function (p) { return p.valid; });
      noFix = rows.length - positions.length;
      return getJSON(el.dataset.zones);
    }).then(function (zones) {
      var zoneGroup = L.featureGroup(zones.features.map(function (f) {
        return zoneLayer(f, String(f.id) === el.dataset.zone);
      })).addTo(map);
      var track = drawTrack(map, positions, occurred);
      // The track at the time and, whole, the zone the alert is about: fitted to the track
      // alone, a fix inside a protected address's zone zoomed in until the zone's edges
      // (what the alert is about) were off the map.
      var bounds = L.latLngBounds([]);
      if (track.getLayers().length) { bounds.extend(track.getBounds()); }
      zones.features.forEach(function (f) {
        if (String(f.id) === el.dataset.zone) { bounds.extend(zoneBounds(f)); }
      });
      if (!bounds.isValid()) { bounds = zoneGroup.getBounds(); }
      if (bounds.isValid()) { map.fitBounds(bounds, {padding: [20, 20], maxZoom: 17}); }
      text(summary, positions.length + " position" + (positions.length === 1 ? "" : "s") +
        (noFix ? ", " + noFix + " report" + (noFix === 1 ? "" : "s") + " without a GPS fix" : "") +
        " and " + zones.features.length + " zone" + (zones.features.length === 1 ? "" : "s") + ".");
    }).catch(function (err) {
      text(summary, "The map could not be loaded (" + err.message + ").");
    }).then(function () {
      var deviceId = el.dataset.device || (positions.length ? String(positions[positions.length - 1].device_id) : "");
      if (!deviceId) { return null; }
      return getJSON(el.dataset.deviceBase + deviceId).then(function (device) {
        showDevice(document.getElementById("device-state"), device);
      }).catch(function () {
        text(document.querySelector("[data-device-field=identifier]"), "not available to you");
      });
    }).then(function () {
      return getJSON(el.dataset.events);
    }).then(function (events) {
      showEvents(eventsList, events);
    }).catch(function () { text(eventsList, "Could not be loaded."); });
  });
})();
