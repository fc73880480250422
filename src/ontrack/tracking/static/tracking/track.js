/* The track map and its playback (no inline script: the Content-Security-Policy allows
   scripts only from this site's files). The data is the page's own json_script
   (tracking/playback.py): segments of valid fixes, each with its accuracy circle; the gaps
   between them drawn dashed and grey (the device reported without a fix, or said nothing:
   where the person went meanwhile is unknown, so the line never joins them as travelled);
   the stops as markers with their duration; the person's zones with their schedules.

   The slider runs through the window: the marker sits at the last fix at or before the
   slider's time, and the label shows that time on the office's clock (the server sends
   the clock's offsets and abbreviations, as the rest of the console names them) with the
   speed there, or says the person is at a stop or where nobody knows. */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var el = document.getElementById("track-map");
  if (!el) { return; }
  var data = JSON.parse(document.getElementById("track-playback").textContent);
  var map = OntrackMap.create(el);
  var fixes = [];  // every fix in time order: [ms, lat, lon, accuracy, speed]
  var line = L.polyline(data.segments.map(function (segment) {
    return segment.map(function (p) { fixes.push(p); return [p[1], p[2]]; });
  }), {weight: 3}).addTo(map);

  function clockTime(ms) {
    var period = data.clock[0];
    data.clock.forEach(function (c) { if (c[0] <= ms) { period = c; } });
    return new Date(ms + period[1]).toISOString().slice(0, 16).replace("T", " ") + " " + period[2];
  }

  fixes.forEach(function (p) {
    if (p[3]) { L.circle([p[1], p[2]], {radius: p[3], weight: 1, fillOpacity: 0.08}).addTo(map); }
    L.circleMarker([p[1], p[2]], {radius: 3}).bindTooltip(clockTime(p[0])).addTo(map);
  });
  data.gaps.forEach(function (gap) {
    if (gap.from && gap.to) {
      L.polyline([gap.from, gap.to], {weight: 2, color: "#888", dashArray: "4 6", className: "playback-gap"})
        .bindTooltip(gap.label).addTo(map);
    }
  });
  // Each stop's duration stays in view beside it; its times are in its popup and the list.
  data.stops.forEach(function (stop) {
    L.circleMarker([stop.lat, stop.lon], {radius: 9, color: "#8250df", weight: 3, fillOpacity: 0.3, className: "playback-stop"})
      .bindTooltip(stop.duration, {permanent: true, direction: "right", className: "playback-stop-label"})
      .bindPopup(stop.label).addTo(map);
  });
  data.zones.forEach(function (f) { ontrackZones.zoneLayer(f).addTo(map); });
  map.fitBounds(line.getBounds(), {padding: [20, 20], maxZoom: 17});

  var marker = L.circleMarker([fixes[0][1], fixes[0][2]], {radius: 7, color: "#cf222e", weight: 3, fillOpacity: 0.9, className: "playback-position"}).addTo(map);
  var slider = document.getElementById("playback-slider");
  var timeLabel = document.getElementById("playback-time");
  var stateLabel = document.getElementById("playback-state");

  function within(items, ms) {
    return items.filter(function (i) { return i.start <= ms && ms <= i.end; })[0];
  }

  function show(ms) {
    var last = null;
    fixes.forEach(function (p) { if (p[0] <= ms) { last = p; } });
    timeLabel.textContent = clockTime(ms);
    var stop = within(data.stops, ms), gap = within(data.gaps, ms);
    var silent = last && ms - last[0] > data.silence_after;
    var unknown = !last || gap || silent;
    if (last) { marker.setLatLng([last[1], last[2]]); }
    marker.setStyle({opacity: unknown ? 0.3 : 1, fillOpacity: unknown ? 0.2 : 0.9});
    if (!last) {
      stateLabel.textContent = "No position yet";
    } else if (gap) {
      stateLabel.textContent = gap.label;
    } else if (silent) {
      stateLabel.textContent = "No report since " + clockTime(last[0]);
    } else if (stop) {
      stateLabel.textContent = stop.label;
    } else {
      stateLabel.textContent = last[4] === null ? "speed not known" : Math.round(last[4]) + " km/h";
    }
  }

  slider.value = String(data.at !== null ? data.at : fixes[0][0]);
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  show(Number(slider.value));
});
