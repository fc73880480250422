/* Zone maps: draw a FeatureCollection of zones, and the zone editor (polygon by clicking
   vertices, draggable, with undo; or a circle by centre + radius). Plain Leaflet on
   the console's shared base map (ontrack/map.js). */
(function () {
  "use strict";
  var COLOURS = {inclusion: "#1a7f37", exclusion: "#cf222e"};
  var COUNTRY = {center: [39.5, -98.35], zoom: 4};
  var maps = [];  // every map on the page, for the browser tests

  function baseMap(el) {
    var map = OntrackMap.create(el);
    maps.push(map);
    return map;
  }

  function zoneLayer(feature, style) {
    var p = feature.properties, colour = COLOURS[p.kind] || "#555";
    style = Object.assign({color: colour, weight: 2, fillOpacity: 0.12}, style || {});
    var layer;
    if (feature.geometry.type === "Point") {
      var c = feature.geometry.coordinates;
      layer = L.circle([c[1], c[0]], Object.assign({radius: p.radius_m}, style));
    } else {
      layer = L.geoJSON(feature.geometry, {style: function () { return style; }});
    }
    // The track page sends each zone's schedule in words ("every day 21:00–06:00").
    var schedule = p.schedule_words ? ", " + p.schedule_words : "";
    return layer.bindTooltip(p.name + " (" + p.kind + schedule + ")");
  }

  // A zone's bounds from its own coordinates. L.Circle#getBounds asks the map to convert
  // layer points, which throws ("layerPointToLatLng of undefined") while the map has no
  // view yet; every demo curfew zone is a circle, so the zones page drew nothing at all.
  function zoneBounds(feature) {
    if (feature.geometry.type === "Point") {
      var c = feature.geometry.coordinates;
      return L.latLng(c[1], c[0]).toBounds(2 * feature.properties.radius_m);
    }
    return L.geoJSON(feature.geometry).getBounds();
  }

  function collectionBounds(features) {
    var bounds = L.latLngBounds([]);
    features.forEach(function (f) { bounds.extend(zoneBounds(f)); });
    return bounds;
  }

  // The view first, the shapes second: circles are projected when they are added.
  function show(map, start) {
    if (start && start.bounds) {
      map.fitBounds(start.bounds, {padding: [20, 20], maxZoom: 17});
    } else if (start && start.center) {
      map.setView(start.center, start.zoom || 16);
    } else {
      map.setView(COUNTRY.center, COUNTRY.zoom);
    }
  }

  function drawZones(map, collection, style) {
    var features = collection.features || [];
    if (!map._loaded) {
      var bounds = collectionBounds(features);
      show(map, bounds.isValid() ? {bounds: bounds} : null);
    }
    return L.featureGroup(features.map(function (f) { return zoneLayer(f, style); })).addTo(map);
  }

  function editor(el) {
    // The vertex markers' images by their hashed static names: Leaflet finds its images from
    // leaflet.css's own name, which the static files' manifest has changed.
    L.Icon.Default.imagePath = "";
    L.Icon.Default.mergeOptions({
      iconUrl: el.dataset.markerIcon,
      iconRetinaUrl: el.dataset.markerIconRetina,
      shadowUrl: el.dataset.markerShadow
    });
    var map = baseMap(el);
    var field = document.getElementById(el.dataset.field);
    var radius = document.getElementById("zone-radius");
    var mode = document.getElementById("zone-mode");
    var vertices = [], markers = [], shape = null, centre = null;
    var current = field.value ? JSON.parse(field.value) : null;

    function write() {
      if (shape) { map.removeLayer(shape); shape = null; }
      if (mode.value === "circle") {
        if (!centre) { field.value = ""; return; }
        var r = parseFloat(radius.value) || 100;
        shape = L.circle(centre, {radius: r}).addTo(map);
        field.value = JSON.stringify({type: "Circle", center: [centre.lng, centre.lat], radius_m: r});
        return;
      }
      var latlngs = markers.map(function (m) { return m.getLatLng(); });
      if (latlngs.length) { shape = L.polygon(latlngs).addTo(map); }
      if (latlngs.length < 3) { field.value = ""; return; }
      var ring = latlngs.map(function (ll) { return [ll.lng, ll.lat]; });
      ring.push(ring[0]);
      field.value = JSON.stringify({type: "Polygon", coordinates: [ring]});
    }
    function addVertex(ll) {
      var m = L.marker(ll, {draggable: true}).addTo(map);
      m.on("drag", write);
      markers.push(m);
    }
    function clear() {
      markers.forEach(function (m) { map.removeLayer(m); });
      markers = []; centre = null;
      if (vertices) { vertices = []; }
    }
    map.on("click", function (e) {
      if (mode.value === "circle") { centre = e.latlng; } else { addVertex(e.latlng); }
      write();
    });
    document.getElementById("zone-undo").addEventListener("click", function () {
      var m = markers.pop(); if (m) { map.removeLayer(m); }
      write();
    });
    document.getElementById("zone-clear").addEventListener("click", function () { clear(); write(); });
    mode.addEventListener("change", function () { clear(); write(); });
    radius.addEventListener("input", write);

    var others = document.getElementById("zone-context");
    var collection = others ? JSON.parse(others.textContent) : {features: []};
    var startEl = document.getElementById("zone-start");
    var start = startEl ? JSON.parse(startEl.textContent) : null;
    if (current && current.type === "Circle") {
      mode.value = "circle"; radius.value = current.radius_m;
      centre = L.latLng(current.center[1], current.center[0]);
      show(map, {bounds: centre.toBounds(2 * current.radius_m)});
    } else if (current && current.type === "Polygon") {
      show(map, {bounds: L.geoJSON(current).getBounds()});
      current.coordinates[0].slice(0, -1).forEach(function (p) { addVertex(L.latLng(p[1], p[0])); });
    } else if (start && (start.bounds || start.center)) {
      show(map, start);
    }
    if (start && start.center) {  // the last known position: a mark to draw around
      L.circleMarker(start.center, {radius: 6, color: "#555", weight: 2, interactive: false})
        .addTo(map);
    }
    // The participant's other zones, in grey, for context (not clickable: clicks draw).
    drawZones(map, collection, {color: "#777", weight: 1, fillOpacity: 0.06, interactive: false});
    write();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-zone-map]").forEach(function (el) {
      drawZones(baseMap(el), JSON.parse(document.getElementById(el.dataset.zoneMap).textContent));
    });
    document.querySelectorAll("[data-zone-editor]").forEach(editor);
  });
  window.ontrackZones = {drawZones: drawZones, zoneLayer: zoneLayer, zoneBounds: zoneBounds,
                         maps: maps};
})();
