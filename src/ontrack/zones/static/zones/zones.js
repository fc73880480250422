/* Zone maps: draw a FeatureCollection of zones on the console's shared base map
   (ontrack/map.js). The editor (zone_editor.js) draws with these too. */
(function () {
  "use strict";
  var COLOURS = {inclusion: "#1a7f37", exclusion: "#cf222e"};
  var COUNTRY = {center: [39.5, -98.35], zoom: 4};
  var maps = [];  // every map on the page, for the browser tests

  function baseMap(el, options) {
    var map = OntrackMap.create(el, options);
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
    // Every zone feature carries its schedule in words ("every day 21:00–06:00").
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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-zone-map]").forEach(function (el) {
      drawZones(baseMap(el), JSON.parse(document.getElementById(el.dataset.zoneMap).textContent));
    });
  });
  window.ontrackZones = {drawZones: drawZones, zoneLayer: zoneLayer, zoneBounds: zoneBounds,
                         baseMap: baseMap, show: show, maps: maps};
})();
