/* Every map of the console starts here: OntrackMap.create(element, options) gives a Leaflet
   map with ontrack's own base layer (country boundaries from world-atlas, US state
   boundaries from us-atlas, both served from this site) drawn beneath the tile layer, so a
   map is never a blank grey box: with no tiles configured (ONTRACK_MAP_TILES empty), no
   network, or a tile server that refuses, a shape still has a place.

   Configuration comes from the element's data- attributes (no inline script: the
   Content-Security-Policy allows scripts only from this site's files), written by the
   template include maps/_data.html:
     data-tiles        the tile URL template ("" for none)
     data-attribution  the tile provider's attribution (HTML, from the settings)
     data-base-world   the TopoJSON of the world's countries
     data-base-states  the TopoJSON of the US states
   Once the base layer is drawn the element gets data-base-drawn (the number of shapes), and
   after a tile fails to load data-tiles-failed: the browser tests wait on both. */
(function () {
  "use strict";
  var BASE_PANE = "ontrack-base";
  var topologies = {};  // URL -> promise of the parsed TopoJSON, fetched once per page

  function topology(url) {
    if (!topologies[url]) {
      topologies[url] = fetch(url, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { throw new Error(url + ": " + r.status); }
        return r.json();
      });
    }
    return topologies[url];
  }

  function features(url, object) {
    return topology(url).then(function (topo) {
      return topojson.feature(topo, topo.objects[object]).features;
    });
  }

  // Below the tiles (the tile pane's z-index is 200), above the container's background.
  function basePane(map) {
    var pane = map.getPane(BASE_PANE) || map.createPane(BASE_PANE);
    pane.style.zIndex = 150;
    pane.style.pointerEvents = "none";
    return pane;
  }

  function drawBase(map, el) {
    basePane(map);
    var renderer = L.svg({pane: BASE_PANE, padding: 0.5});
    var layers = [];
    var sources = [];
    if (el.dataset.baseWorld) {
      sources.push(features(el.dataset.baseWorld, "countries").then(function (f) {
        return {features: f, style: {color: "#9a9a9a", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1}};
      }));
    }
    if (el.dataset.baseStates) {
      sources.push(features(el.dataset.baseStates, "states").then(function (f) {
        return {features: f, style: {color: "#b0a8a0", weight: 1, dashArray: "4 3", fill: false}};
      }));
    }
    return Promise.all(sources).then(function (drawn) {
      var count = 0;
      drawn.forEach(function (d) {
        var layer = L.geoJSON(d.features, {
          pane: BASE_PANE, renderer: renderer, interactive: false,
          style: function () { return d.style; }
        }).addTo(map);
        layers.push(layer);
        count += d.features.length;
      });
      el.dataset.baseDrawn = String(count);
      return layers;
    }).catch(function (err) {
      el.dataset.baseDrawn = "0";
      if (window.console) { window.console.warn("ontrack base layer: " + err.message); }
      return layers;
    });
  }

  function drawTiles(map, el, options) {
    if (!el.dataset.tiles) { return null; }
    var tiles = L.tileLayer(el.dataset.tiles, {
      maxZoom: options.maxZoom || 19,
      attribution: el.dataset.attribution || ""
    });
    tiles.on("tileerror", function () {
      if (!el.dataset.tilesFailed) {
        el.dataset.tilesFailed = "1";
        map.attributionControl.addAttribution("Map tiles unavailable: boundaries only");
      }
    });
    return tiles.addTo(map);
  }

  function create(el, options) {
    options = options || {};
    el.classList.add("ontrack-map");
    // A maximum zoom of the map's own: without tiles Leaflet has none, and clustering
    // (the live map) refuses to work without one.
    var map = L.map(el, Object.assign({maxZoom: options.maxZoom || 19}, options.map || {}));
    map.ontrackBase = drawBase(map, el);
    map.ontrackTiles = drawTiles(map, el, options);
    return map;
  }

  window.OntrackMap = {create: create, basePane: BASE_PANE};
})();
