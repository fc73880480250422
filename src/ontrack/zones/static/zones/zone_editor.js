/* The zone editor: one shape per zone, drawn and edited with Leaflet-Geoman (vendored) on
   the console's shared base map. Geoman's toolbar draws a polygon, a rectangle or a circle,
   edits corners (add one by dragging a midpoint, remove one by clicking it), drags the
   shape and removes it; new corners snap to the participant's other zones (drawn in grey)
   and to the shape's own corners.

   The form's contract is the hidden geometry field, as before: a GeoJSON Polygon or
   MultiPolygon (closed rings, [lon, lat]), or {"type": "Circle", "center": [lon, lat],
   "radius_m": r} - a circle stays a centre and a radius, not a polygon. Empty when nothing
   is drawn (the server then asks for a shape or pasted GeoJSON / WKT).

   Geoman runs opted in (L.PM.setOptIn): it manages only the layers made with
   pmIgnore: false - the zone itself - and leaves the base layer of boundaries, the tiles
   and the grey context zones alone (the context zones are snap targets only).

   With a geocoder configured (ONTRACK_GEOCODER_URL, a Nominatim-style /search), the page
   has a search form (data-geocoder) that moves the map to an address; without one there is
   no form and nothing here asks any other site for anything. */
(function () {
  "use strict";
  var SHAPE = {color: "#0969da", weight: 3, fillOpacity: 0.15, pmIgnore: false};
  var CONTEXT = {color: "#777", weight: 1, fillOpacity: 0.06, interactive: false,
                 pmIgnore: true, snapIgnore: false};

  // The stored geometry as a Geoman-editable layer (made with SHAPE, so Geoman adopts it).
  function layerOf(geometry) {
    if (geometry.type === "Circle") {
      var c = geometry.center;
      return L.circle([c[1], c[0]], Object.assign({radius: geometry.radius_m}, SHAPE));
    }
    var depth = geometry.type === "MultiPolygon" ? 2 : 1;
    return L.polygon(L.GeoJSON.coordsToLatLngs(geometry.coordinates, depth), SHAPE);
  }

  // The layer as the form's geometry; a circle keeps its centre and radius.
  function geometryOf(layer) {
    if (layer instanceof L.Circle) {
      var c = layer.getLatLng();
      return {type: "Circle", center: [c.lng, c.lat],
              radius_m: Math.round(layer.getRadius() * 10) / 10};
    }
    return layer.toGeoJSON().geometry;
  }

  function editor(el) {
    L.PM.setOptIn(true);
    var map = ontrackZones.baseMap(el, {map: {pmIgnore: false}});
    var field = document.getElementById(el.dataset.field);
    var radius = document.getElementById("zone-radius");
    var shape = null;

    map.pm.setGlobalOptions({
      pathOptions: SHAPE, templineStyle: {color: SHAPE.color},
      hintlineStyle: {color: SHAPE.color, dashArray: [5, 5]},
      snappable: true, snapDistance: 15, allowSelfIntersection: false
    });
    map.pm.addControls({
      position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
      drawText: false, cutPolygon: false, rotateMode: false
    });

    function write() {
      field.value = shape ? JSON.stringify(geometryOf(shape)) : "";
      var circle = shape instanceof L.Circle;
      radius.hidden = !circle;
      if (circle) { radius.querySelector("input").value = Math.round(shape.getRadius()); }
      el.dataset.shape = shape ? geometryOf(shape).type : "";  // for the browser tests
    }

    // A zone is one shape: drawing a new one replaces the old.
    function adopt(layer) {
      if (shape && shape !== layer) { map.removeLayer(shape); }
      shape = layer;
      layer.on("pm:edit pm:change pm:dragend", write);
      write();
    }
    map.on("pm:create", function (e) { adopt(e.layer); });
    map.on("pm:remove", function (e) {
      if (e.layer === shape) { shape = null; write(); }
    });
    radius.querySelector("input").addEventListener("change", function () {
      var r = parseFloat(this.value);
      if (!(shape instanceof L.Circle && r > 0)) { return; }
      shape.setRadius(r);
      if (shape.pm.enabled()) { shape.pm.disable(); shape.pm.enable(); }  // move its handles
      write();
    });

    var current = field.value ? JSON.parse(field.value) : null;
    var startEl = document.getElementById("zone-start");
    var start = startEl ? JSON.parse(startEl.textContent) : null;
    var contextEl = document.getElementById("zone-context");
    var context = contextEl ? JSON.parse(contextEl.textContent) : {features: []};
    if (current) {
      var layer = layerOf(current);
      var bounds = layer instanceof L.Circle
        ? ontrackZones.zoneBounds({geometry: {type: "Point", coordinates: current.center},
                                   properties: {radius_m: current.radius_m}})
        : layer.getBounds();
      ontrackZones.show(map, {bounds: bounds});
      adopt(layer.addTo(map));
    } else {
      ontrackZones.show(map, start);
      write();
    }
    if (start && start.reason === "last known position") {  // a mark to draw around
      L.circleMarker(start.center, {radius: 6, color: "#555", weight: 2, interactive: false})
        .addTo(map);
    }
    ontrackZones.drawZones(map, context, CONTEXT);
    search(map);
  }

  // The address search, only where the page offers one (a geocoder is configured).
  function search(map) {
    var form = document.getElementById("zone-search");
    if (!form) { return; }
    var results = document.getElementById("zone-search-results");
    function go(place) {
      var b = place.boundingbox;  // [south, north, west, east] as strings
      if (b) {
        map.fitBounds([[+b[0], +b[2]], [+b[1], +b[3]]], {maxZoom: 18});
      } else {
        map.setView([+place.lat, +place.lon], 17);
      }
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = form.querySelector("input[type=search]").value.trim();
      results.textContent = "";
      if (!q) { return; }
      var url = new URL(form.dataset.geocoder);
      url.searchParams.set("q", q);
      url.searchParams.set("format", "jsonv2");
      url.searchParams.set("limit", "5");
      fetch(url, {credentials: "omit"}).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.json();
      }).then(function (places) {
        if (!places.length) { results.textContent = form.dataset.none; return; }
        places.forEach(function (place) {
          var item = document.createElement("li"), button = document.createElement("button");
          button.type = "button";
          button.textContent = place.display_name;
          button.addEventListener("click", function () { go(place); });
          item.appendChild(button);
          results.appendChild(item);
        });
        go(places[0]);
      }).catch(function () { results.textContent = form.dataset.failed; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-zone-editor]").forEach(editor);
  });
})();
