/* The case map page (/ui/cases/map), over Leaflet (vendored, /ui/static/leaflet.js).
 *
 * The server puts the first answer of GET /api/v1/cases/map into the page (#map-data) with the
 * page's settings (#map-config); this script draws it: a choropleth of the areas (rates, or
 * counts when no population figure is imported), withheld areas hatched, Gi* hot and cold spot
 * outlines, and for analysts a density layer of displaced incident points drawn on a canvas of
 * its own. The time sliders and the category refetch the API and redraw the map and the table
 * of areas under it. Every value from the server goes into the page as text (textContent, or a
 * DOM node handed to Leaflet), never as HTML.
 *
 * When the areas are drawn, #map gets data-drawn (a counter of draws) and window.vigilMapDrawn
 * the time since navigation start (performance.now()), for tests and the load benchmark.
 */
(function () {
  'use strict';
  var cfgEl = document.getElementById('map-config');
  var dataEl = document.getElementById('map-data');
  var mapEl = document.getElementById('map');
  if (!cfgEl || !dataEl || !mapEl || typeof L === 'undefined') {
    return;
  }
  var cfg = JSON.parse(cfgEl.textContent);
  var data = JSON.parse(dataEl.textContent);
  var statusEl = document.getElementById('map-status');
  var fromEl = document.getElementById('from-year');
  var toEl = document.getElementById('to-year');
  var fromLabel = document.getElementById('from-label');
  var toLabel = document.getElementById('to-label');
  var catEl = document.getElementById('category');
  var hotEl = document.getElementById('show-hotspots');
  var pointsEl = document.getElementById('show-points');
  var pointsNote = document.getElementById('points-note');
  var legendEl = document.getElementById('legend');
  var tbody = document.querySelector('#areas tbody');

  // ColorBrewer YlOrRd, 5 classes.
  var PALETTE = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
  var ZERO = '#ffffff';
  var NO_VALUE = '#d0d0d0';
  var SVG = 'http://www.w3.org/2000/svg';

  var map = L.map(mapEl, {
    attributionControl: false,
    zoomSnap: 0.25,
    minZoom: 1,
    maxZoom: 18
  });
  if (cfg.tiles) {
    L.control.attribution({ prefix: false }).addTo(map);
    L.tileLayer(cfg.tiles.url, {
      attribution: escapeHtml(cfg.tiles.attribution || ''),
      maxZoom: 18
    }).addTo(map);
  }
  var renderer = L.svg({ padding: 0.5 });
  var areasLayer = null;
  var hotLayer = null;
  var density = null;
  var draws = 0;
  var fitted = false;
  var seq = 0;

  function escapeHtml(s) {
    var d = document.createElement('div');
    d.textContent = s;
    return d.innerHTML;
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.className = isError ? 'muted error' : 'muted';
  }

  function areaFeatures(d) {
    return d.features.filter(function (f) { return f.properties.kind === 'area'; });
  }

  function measure(d) {
    return d.vigil.measure === 'rate' ? 'rate_per_100k' : 'incidents';
  }

  // Equal classes from 0 to a round maximum.
  function breaks(d) {
    var key = measure(d);
    var max = 0;
    areaFeatures(d).forEach(function (f) {
      var v = f.properties[key];
      if (!f.properties.suppressed && typeof v === 'number' && v > max) {
        max = v;
      }
    });
    if (max <= 0) {
      return null;
    }
    var mag = Math.pow(10, Math.floor(Math.log10(max)));
    var top = Math.ceil(max / mag) * mag;
    var step = top / PALETTE.length;
    return PALETTE.map(function (_, i) { return (i + 1) * step; });
  }

  function colourOf(v, b) {
    if (v === null || v === undefined) {
      return NO_VALUE;
    }
    if (v === 0 || !b) {
      return ZERO;
    }
    for (var i = 0; i < b.length; i++) {
      if (v <= b[i] + 1e-9) {
        return PALETTE[i];
      }
    }
    return PALETTE[PALETTE.length - 1];
  }

  function fmt(v) {
    if (typeof v !== 'number') {
      return '—';
    }
    return Number.isInteger(v) ? String(v) : v.toFixed(2);
  }

  function withheldText(p) {
    return p.suppression === 'primary' ? 'fewer than ' + data.vigil.k : 'withheld';
  }

  function ensureHatch() {
    var svg = renderer._container;
    if (!svg || svg.querySelector('#vigil-hatch')) {
      return;
    }
    var defs = document.createElementNS(SVG, 'defs');
    var pat = document.createElementNS(SVG, 'pattern');
    pat.setAttribute('id', 'vigil-hatch');
    pat.setAttribute('patternUnits', 'userSpaceOnUse');
    pat.setAttribute('width', '6');
    pat.setAttribute('height', '6');
    pat.setAttribute('patternTransform', 'rotate(45)');
    var bg = document.createElementNS(SVG, 'rect');
    bg.setAttribute('width', '6');
    bg.setAttribute('height', '6');
    bg.setAttribute('fill', '#e6e6e6');
    var line = document.createElementNS(SVG, 'rect');
    line.setAttribute('width', '2');
    line.setAttribute('height', '6');
    line.setAttribute('fill', '#9a9a9a');
    pat.appendChild(bg);
    pat.appendChild(line);
    defs.appendChild(pat);
    svg.insertBefore(defs, svg.firstChild);
  }

  function tooltipOf(p) {
    var el = document.createElement('span');
    var name = p.name ? p.name + ' (' + p.code + ')' : p.code;
    var text;
    if (p.suppressed) {
      text = name + ': ' + withheldText(p);
    } else {
      text = name + ': ' + fmt(p.incidents) + ' incidents, ' + fmt(p.victims) + ' victims';
      if (typeof p.rate_per_100k === 'number') {
        text += ', ' + fmt(p.rate_per_100k) + ' per 100,000 per year';
      }
      if (p.gi_class && p.gi_class !== 'none') {
        text += ', Gi* ' + p.gi_class;
      }
    }
    el.textContent = text;
    return el;
  }

  function drawAreas() {
    var b = breaks(data);
    var key = measure(data);
    var layer = L.geoJSON(areaFeatures(data), {
      style: function (f) {
        var p = f.properties;
        if (p.suppressed) {
          return {
            renderer: renderer,
            className: 'vigil-area vigil-suppressed',
            color: '#6b6b6b',
            weight: 1,
            fillColor: 'url(#vigil-hatch)',
            fillOpacity: 1
          };
        }
        return {
          renderer: renderer,
          className: 'vigil-area',
          color: '#555555',
          weight: 1,
          fillColor: colourOf(p[key], b),
          fillOpacity: 0.85
        };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(tooltipOf(f.properties), { sticky: true });
      }
    });
    if (!fitted) {
      if (layer.getLayers().length) {
        map.fitBounds(layer.getBounds(), { padding: [10, 10] });
      } else {
        map.setView([0, 0], 2);
      }
      fitted = true;
    }
    if (areasLayer) {
      map.removeLayer(areasLayer);
    }
    areasLayer = layer.addTo(map);
    ensureHatch();
    drawLegend(b, key);
  }

  function drawHotspots() {
    if (hotLayer) {
      map.removeLayer(hotLayer);
      hotLayer = null;
    }
    var spots = areaFeatures(data).filter(function (f) {
      return /^(hot|cold)_(95|99)$/.test(f.properties.gi_class || '');
    });
    hotLayer = L.geoJSON(spots, {
      interactive: false,
      style: function (f) {
        var c = f.properties.gi_class;
        return {
          renderer: renderer,
          className: 'vigil-hot vigil-' + c,
          fill: false,
          color: c.indexOf('hot') === 0 ? '#b2182b' : '#2166ac',
          weight: /99$/.test(c) ? 4 : 2.5,
          dashArray: /95$/.test(c) ? '6 4' : null
        };
      }
    });
    if (!hotEl || hotEl.checked) {
      hotLayer.addTo(map);
    }
  }

  function legendItem(swatchClass, colour, label) {
    var item = document.createElement('span');
    item.className = 'item';
    var sw = document.createElement('span');
    sw.className = 'swatch' + (swatchClass ? ' ' + swatchClass : '');
    if (colour) {
      sw.style.background = colour;
    }
    var t = document.createElement('span');
    t.textContent = label;
    item.appendChild(sw);
    item.appendChild(t);
    legendEl.appendChild(item);
  }

  function drawLegend(b, key) {
    legendEl.textContent = '';
    var unit = key === 'rate_per_100k' ? ' per 100,000 per year' : ' incidents';
    legendItem('', ZERO, '0');
    if (b) {
      var lo = 0;
      b.forEach(function (hi, i) {
        legendItem('', PALETTE[i], fmt(lo) + '–' + fmt(hi) + (i === b.length - 1 ? unit : ''));
        lo = hi;
      });
    }
    if (key === 'rate_per_100k') {
      legendItem('', NO_VALUE, 'no population figure');
    }
    if (data.vigil.k > 1) {
      legendItem('hatched', null, 'withheld (fewer than ' + data.vigil.k + ')');
    }
    legendItem('hot99', null, 'hot spot 99%');
    legendItem('hot95', null, 'hot spot 95%');
    legendItem('cold99', null, 'cold spot 99%');
    legendItem('cold95', null, 'cold spot 95%');
  }

  function cell(tr, cls, text) {
    var td = document.createElement('td');
    td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
  }

  function drawTable() {
    var rows = document.createDocumentFragment();
    areaFeatures(data).forEach(function (f) {
      var p = f.properties;
      var tr = document.createElement('tr');
      tr.dataset.code = p.code;
      cell(tr, '', p.code);
      cell(tr, '', p.name || '');
      if (p.suppressed) {
        cell(tr, 'num incidents suppressed', withheldText(p));
        cell(tr, 'num victims suppressed', withheldText(p));
        cell(tr, 'num rate', '—');
        cell(tr, 'gi', '—');
      } else {
        cell(tr, 'num incidents', fmt(p.incidents));
        cell(tr, 'num victims', fmt(p.victims));
        cell(tr, 'num rate', fmt(p.rate_per_100k));
        var gi = p.gi_class || '—';
        if (p.gi_class && typeof p.gi_z === 'number') {
          gi += ' (z ' + p.gi_z.toFixed(2) + ')';
        }
        cell(tr, 'gi', gi);
      }
      rows.appendChild(tr);
    });
    tbody.textContent = '';
    tbody.appendChild(rows);
    document.getElementById('period').textContent = data.vigil.from + ' to ' + data.vigil.to;
    document.getElementById('total').textContent = String(data.vigil.total_incidents);
  }

  // Displaced points, binned into cells of a few pixels and drawn on a canvas of their own
  // (thousands of markers would be slow; a count per cell is also all the eye can read).
  var Density = L.Layer.extend({
    initialize: function (points) {
      this._points = points;
    },
    onAdd: function (m) {
      this._canvas = L.DomUtil.create('canvas', 'vigil-density leaflet-zoom-hide');
      m.getPanes().overlayPane.appendChild(this._canvas);
      m.on('moveend zoomend resize', this._draw, this);
      this._draw();
    },
    onRemove: function (m) {
      m.off('moveend zoomend resize', this._draw, this);
      L.DomUtil.remove(this._canvas);
    },
    _draw: function () {
      var m = this._map;
      var size = m.getSize();
      var c = this._canvas;
      c.width = size.x;
      c.height = size.y;
      L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
      var cellPx = 6;
      var cols = Math.ceil(size.x / cellPx);
      var counts = new Map();
      var max = 0;
      for (var i = 0; i < this._points.length; i++) {
        var p = m.latLngToContainerPoint(this._points[i]);
        if (p.x < 0 || p.y < 0 || p.x >= size.x || p.y >= size.y) {
          continue;
        }
        var k = Math.floor(p.y / cellPx) * cols + Math.floor(p.x / cellPx);
        var n = (counts.get(k) || 0) + 1;
        counts.set(k, n);
        if (n > max) {
          max = n;
        }
      }
      var g = c.getContext('2d');
      g.clearRect(0, 0, c.width, c.height);
      counts.forEach(function (n, k) {
        var a = 0.3 + 0.7 * Math.sqrt(n / max);
        g.fillStyle = 'rgba(84, 39, 143, ' + a.toFixed(3) + ')';
        g.fillRect((k % cols) * cellPx, Math.floor(k / cols) * cellPx, cellPx, cellPx);
      });
      c.dataset.points = String(this._points.length);
    }
  });

  function pointsOf(d) {
    return d.features
      .filter(function (f) { return f.properties.kind === 'incident'; })
      .map(function (f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; });
  }

  function drawPoints(d) {
    if (density) {
      map.removeLayer(density);
      density = null;
    }
    if (pointsEl && pointsEl.checked && d) {
      density = new Density(pointsOf(d)).addTo(map);
    }
  }

  function drawAll(withPoints) {
    drawAreas();
    drawHotspots();
    drawTable();
    drawPoints(withPoints ? data : null);
    draws += 1;
    mapEl.dataset.drawn = String(draws);
    mapEl.dataset.areas = String(areaFeatures(data).length);
    window.vigilMapDrawn = performance.now();
    var v = data.vigil;
    var text = v.areas + ' areas, ' + v.total_incidents + ' incidents';
    if (v.suppressed_areas) {
      text += ', ' + v.suppressed_areas + ' withheld';
    }
    if (v.points) {
      text += ', ' + v.points.sent + ' displaced points (' + v.points.withheld + ' withheld)';
    }
    if (v.gi_note) {
      text += '. Gi*: ' + v.gi_note;
    }
    if (v.rate_note) {
      text += '. Rates: ' + v.rate_note;
    }
    setStatus(text + '.', false);
  }

  function params(points) {
    var p = new URLSearchParams();
    p.set('from', fromEl.value);
    p.set('to', toEl.value);
    if (catEl.value) {
      p.set('category', catEl.value);
    }
    p.set('level', cfg.level);
    if (points) {
      p.set('points', '1');
    }
    return p;
  }

  function refresh() {
    seq += 1;
    var mine = seq;
    var points = !!(pointsEl && pointsEl.checked);
    setStatus('Loading…', false);
    fetch('/api/v1/cases/map?' + params(points).toString(), {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) {
            throw new Error(body && body.message ? body.message : 'HTTP ' + r.status);
          }
          return body;
        });
      })
      .then(function (d) {
        if (mine !== seq) {
          return;
        }
        data = d;
        drawAll(points);
        history.replaceState(null, '', '?' + params(false).toString());
      })
      .catch(function (e) {
        if (mine === seq) {
          setStatus('The map could not be loaded: ' + e.message, true);
        }
      });
  }

  function slid(which) {
    var a = +fromEl.value;
    var b = +toEl.value;
    if (a > b) {
      if (which === 'from') {
        toEl.value = String(a);
      } else {
        fromEl.value = String(b);
      }
    }
    fromLabel.textContent = fromEl.value;
    toLabel.textContent = toEl.value;
  }

  fromEl.addEventListener('input', function () { slid('from'); });
  toEl.addEventListener('input', function () { slid('to'); });
  fromEl.addEventListener('change', function () { slid('from'); refresh(); });
  toEl.addEventListener('change', function () { slid('to'); refresh(); });
  catEl.addEventListener('change', refresh);
  if (hotEl) {
    hotEl.addEventListener('change', function () {
      if (!hotLayer) {
        return;
      }
      if (hotEl.checked) {
        hotLayer.addTo(map);
      } else {
        map.removeLayer(hotLayer);
      }
    });
  }
  if (pointsEl) {
    pointsEl.addEventListener('change', function () {
      if (pointsNote) {
        pointsNote.hidden = !pointsEl.checked;
      }
      if (pointsEl.checked) {
        refresh();
      } else {
        drawPoints(null);
      }
    });
  }

  drawAll(false);
})();
