/* The track map: every valid fix of the period with its accuracy circle, the line broken
   into segments where the device reported without a GPS fix (no inline script: the
   Content-Security-Policy allows scripts only from this site's files). */
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("track-map");
  var segments = JSON.parse(document.getElementById("track-segments").textContent);
  var map = OntrackMap.create(el);
  var line = L.polyline(segments.map(function (segment) {
    return segment.map(function (p) { return [p[0], p[1]]; });
  }), {weight: 3}).addTo(map);
  segments.forEach(function (segment) {
    segment.forEach(function (p) {
      if (p[2]) { L.circle([p[0], p[1]], {radius: p[2], weight: 1, fillOpacity: 0.08}).addTo(map); }
      L.circleMarker([p[0], p[1]], {radius: 3}).bindTooltip(p[3]).addTo(map);
    });
  });
  map.fitBounds(line.getBounds(), {padding: [20, 20], maxZoom: 17});
});
