/* The live map of the caseload: every wearer the user may see at their last position,
   clustered (Leaflet.markercluster), coloured by their worst state (open alert of high or
   critical priority, open alert, stale fix, current), updated in place every poll interval
   without a reload. Positions come from /tracking/map/positions.json, which checks the
   user's scope and writes the access log on every request; the filters are that URL's query
   parameters, kept in the page's own address. The map opens on the filters' whole scope,
   fitted to its bounds (the answer's "scope"); after that it asks only for the wearers in
   its view (bbox, padded so that a small move needs no request), on each poll and when a
   move or zoom leaves the part it has. No inline script (Content-Security-Policy):
   everything is configured by #live-map's data- attributes. */
(function () {
  "use strict";
  var STATES = ["urgent", "alert", "stale", "current"];
  var COUNTRY = {center: [39.5, -98.35], zoom: 4};

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function text(tag, value, className) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (className) { node.className = className; }
    return node;
  }

  // The popup is built from DOM nodes and text, never from HTML strings: names are data.
  function popup(w) {
    var box = document.createElement("div");
    box.className = "live-popup";
    var link = text("a", w.name);
    link.href = w.url;
    var title = document.createElement("strong");
    title.appendChild(link);
    box.appendChild(title);
    box.appendChild(text("div", "Case " + w.case_number + " · " + w.level + " · " + w.officer, "muted"));
    box.appendChild(text("div", "Last fix " + w.fix_time_text +
      (w.minutes_since_fix !== null ? " (" + plural(w.minutes_since_fix, "minute") + " ago)" : "")));
    if (w.open_alerts) {
      box.appendChild(text("div", plural(w.open_alerts, "open alert"), "live-popup-alerts"));
    }
    return box;
  }

  function icon(w) {
    return L.divIcon({
      className: "live-wearer live-" + w.state + (w.stale ? " is-stale" : ""),
      iconSize: [16, 16]
    });
  }

  // A cluster takes the colour of the worst wearer in it.
  function clusterIcon(cluster) {
    var worst = STATES.length - 1;
    cluster.getAllChildMarkers().forEach(function (m) { worst = Math.min(worst, m.options.rank); });
    var n = cluster.getChildCount();
    var size = n < 10 ? "small" : (n < 100 ? "medium" : "large");
    var inner = document.createElement("div");
    inner.appendChild(text("span", String(n)));
    return L.divIcon({
      html: inner,
      className: "marker-cluster marker-cluster-" + size + " live-cluster-" + STATES[worst],
      iconSize: L.point(40, 40)
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("live-map");
    if (!el || typeof L === "undefined") { return; }
    var summary = document.getElementById("live-map-summary");
    var empty = document.getElementById("live-map-empty");
    var unplacedCard = document.getElementById("live-map-unplaced-card");
    var unplacedList = document.getElementById("live-map-unplaced");
    var form = document.getElementById("live-map-filters");
    var pollMs = parseInt(el.dataset.pollMs, 10) || 15000;
    var query = el.dataset.query || "";
    var map = OntrackMap.create(el).setView(COUNTRY.center, COUNTRY.zoom);
    var clusters = L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
      iconCreateFunction: clusterIcon
    }).addTo(map);
    var markers = {};  // participant id -> marker
    var fitted = false, timer = null, loading = false, again = false, updates = 0;
    var covered = null;  // the area the last answer holds every wearer of (null: none yet)
    var generation = 0;  // bumped by a filter change: an answer to older filters is dropped
    var WORLD = L.latLngBounds([-90, -180], [90, 180]);

    function clamp(v, low, high) { return Math.max(low, Math.min(high, v)); }

    // The view, padded, clamped to one world: what the next answer will hold.
    function viewArea() {
      var b = map.getBounds().pad(0.25);
      return L.latLngBounds(
        [clamp(b.getSouth(), -90, 90), clamp(b.getWest(), -180, 180)],
        [clamp(b.getNorth(), -90, 90), clamp(b.getEast(), -180, 180)]);
    }

    function bbox(area) {
      return [area.getSouth(), area.getWest(), area.getNorth(), area.getEast()]
        .map(function (v) { return v.toFixed(5); }).join(",");
    }

    function show(data) {
      var seen = {}, added = [], unplaced = [], alerts = 0, stale = 0;
      data.wearers.forEach(function (w) {
        if (w.open_alerts) { alerts += 1; }
        if (w.stale) { stale += 1; }
        if (w.lat === null || w.lon === null) { unplaced.push(w); return; }
        seen[w.id] = true;
        var rank = STATES.indexOf(w.state);
        var marker = markers[w.id];
        if (!marker) {
          marker = L.marker([w.lat, w.lon], {icon: icon(w), rank: rank, title: w.name, keyboard: true});
          marker.ontrackState = w.state + (w.stale ? "/stale" : "");
          marker.bindPopup(popup(w));
          markers[w.id] = marker;
          added.push(marker);
          return;
        }
        var was = marker.getLatLng();
        if (was.lat !== w.lat || was.lng !== w.lon) { marker.setLatLng([w.lat, w.lon]); }
        var state = w.state + (w.stale ? "/stale" : "");
        if (marker.ontrackState !== state) {
          marker.ontrackState = state;
          marker.options.rank = rank;
          marker.setIcon(icon(w));
          clusters.refreshClusters(marker);
        }
        marker.setPopupContent(popup(w));
      });
      var gone = Object.keys(markers).filter(function (id) { return !seen[id]; });
      if (gone.length) {
        clusters.removeLayers(gone.map(function (id) { return markers[id]; }));
        gone.forEach(function (id) { delete markers[id]; });
      }
      if (added.length) { clusters.addLayers(added); }
      var placed = Object.keys(markers).length;
      var bounds = data.scope.bounds;
      if (!fitted && bounds) {
        map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
                      {padding: [30, 30], maxZoom: 13});
        fitted = true;
      }
      unplacedList.textContent = "";
      unplaced.forEach(function (w) {
        var li = document.createElement("li");
        var link = text("a", w.name);
        link.href = w.url;
        li.appendChild(link);
        li.appendChild(document.createTextNode(" · case " + w.case_number + " · device " + w.device));
        unplacedList.appendChild(li);
      });
      unplacedCard.hidden = unplaced.length === 0;
      empty.hidden = data.scope.wearers !== 0;
      var elsewhere = data.scope.placed - placed;
      summary.textContent = plural(placed, "wearer") + " on the map" +
        (elsewhere > 0 ? " in this view (" + elsewhere + " more out of it: move or zoom out)" : "") +
        (unplaced.length ? ", " + unplaced.length + " without a position yet" : "") +
        "; " + alerts + " with open alerts, " + stale + " without a fix for " +
        data.stale_after_minutes + " minutes. Updated " + data.generated_at_text + ".";
      updates += 1;
      el.dataset.placed = String(placed);
      el.dataset.updates = String(updates);
    }

    function load() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (loading) { again = true; return null; }  // the filters changed mid-request
      loading = true;
      // Unfitted (opening, new filters): the whole scope, whose bounds the map fits.
      var area = fitted ? viewArea() : WORLD;
      var asked = generation;
      var params = new URLSearchParams(query);
      if (fitted) { params.set("bbox", bbox(area)); }
      var url = el.dataset.positions + (params.toString() ? "?" + params.toString() : "");
      return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) {
          if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
          return r.json();
        })
        .then(function (data) {
          if (asked === generation) { covered = area; show(data); }
        })
        .catch(function (err) {
          summary.textContent = "Positions could not be loaded (" + err.message +
            "); trying again in " + Math.round(pollMs / 1000) + " s.";
        })
        .then(function () {
          loading = false;
          if (again) { again = false; load(); } else { timer = setTimeout(poll, pollMs); }
        });
    }

    // A hidden tab asks for nothing (each request is a logged read); it catches up when
    // shown again.
    function poll() {
      timer = null;
      if (document.hidden) { return; }
      load();
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !timer) { load(); }
    });
    // A move or zoom out of the area the markers were asked for asks for the new view at
    // once; inside it, the next poll narrows to the view.
    map.on("moveend", function () {
      if (fitted && covered && !covered.contains(map.getBounds())) { load(); }
    });

    if (form) {
      form.addEventListener("change", function () {
        var params = new URLSearchParams();
        new FormData(form).forEach(function (value, name) { if (value) { params.set(name, value); } });
        query = params.toString();
        window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
        fitted = false;
        covered = null;
        generation += 1;
        load();
      });
    }
    window.ontrackLiveMap = {map: map, clusters: clusters, markers: markers, reload: load};
    load();
  });
})();
