/**
 * The stylesheet and the script of the array view, shared by `renderArray` pages and by array
 * leaves opened in a `renderToHTML` tree. Like the tree view's, they are plain strings scoped
 * under `.skts-root`, and every text reaches the page through `textContent`.
 *
 * @module
 */

import { DIVERGING_TABLE, type RGB, SEQUENTIAL_TABLE } from "./colormap.js";
import { base64 } from "./page.js";

/** The 256 colours of a continuous map as base64 bytes (r, g, b each), sent once per page. */
function tableBytes(table: readonly RGB[]): string {
  const bytes = new Uint8Array(3 * table.length);
  table.forEach((rgb, i) => {
    bytes.set(rgb, 3 * i);
  });
  return base64(bytes);
}

const TABLES = { sequential: tableBytes(SEQUENTIAL_TABLE), diverging: tableBytes(DIVERGING_TABLE) };

/** The array view's rules, added to the tree view's stylesheet. */
export const ARRAY_STYLE = `
.skts-root.skts-array-root{display:inline-block;max-width:100%;box-sizing:border-box}
.skts-array{display:inline-block;margin:4px 0}
.skts-array-head{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline;margin-bottom:4px}
.skts-array-title{font-weight:600}
.skts-array-axes{color:var(--skts-muted)}
.skts-array-note{color:var(--skts-bad);border:1px dashed var(--skts-bad);border-radius:4px;padding:0 6px;margin:2px 0 6px;display:inline-block}
.skts-array-sliders{display:flex;flex-direction:column;gap:2px;margin-bottom:6px}
.skts-array-slider{display:flex;gap:8px;align-items:center}
.skts-array-slider input{width:220px;margin:0}
.skts-array-grid{border-collapse:separate;border-spacing:6px 4px;margin:-4px -6px}
.skts-array-grid td{padding:0;vertical-align:top}
.skts-array-grid td.skts-rowlabel{vertical-align:middle;text-align:right;color:var(--skts-muted);white-space:nowrap}
.skts-array-grid td.skts-collabel{text-align:center;color:var(--skts-muted);white-space:nowrap}
.skts-array-grid td.skts-corner{color:var(--skts-muted);font-size:10px;white-space:nowrap;vertical-align:bottom;text-align:right}
.skts-array-grid tr.skts-group td{padding-top:6px}
.skts-facet{display:block;image-rendering:pixelated;cursor:crosshair;
background:repeating-conic-gradient(#b0b0b0 0 25%,#e0e0e0 0 50%) 0 0/8px 8px}
.skts-ticks-x{position:relative;height:14px;font-size:10px;color:var(--skts-muted)}
.skts-ticks-y{position:relative;font-size:10px;color:var(--skts-muted);min-width:16px}
.skts-ticks-x span{position:absolute;bottom:0;transform:translateX(-50%);white-space:nowrap}
.skts-ticks-y span{position:absolute;right:2px;transform:translateY(-50%);white-space:nowrap}
.skts-array-legend{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:center;margin-top:6px;color:var(--skts-muted)}
.skts-colorbar{width:160px;height:10px;image-rendering:pixelated;border:1px solid var(--skts-border);vertical-align:middle}
.skts-swatch{display:inline-block;width:10px;height:10px;border:1px solid var(--skts-border);vertical-align:middle;margin-right:4px}
.skts-swatch.skts-masked{background:repeating-conic-gradient(#b0b0b0 0 25%,#e0e0e0 0 50%) 0 0/6px 6px}
.skts-array-info{margin-top:4px;min-height:1.55em;white-space:pre}
.skts-array-panel{margin:2px 0 6px 30px}
.skts-root button.skts-array-open{margin-left:8px;font-size:10px}
`;

/**
 * The array view builder, a function expression `(container, spec)` that draws the view described
 * by `spec` (see `ArraySpec` in arrayView.ts) into `container`: a grid of facets, each a canvas of
 * one cell per value (scaled by CSS, pixelated), tick and facet labels, a slider per slider axis,
 * a colour legend, and a line that shows the index and value of the cell under the pointer.
 */
export const ARRAY_CLIENT = String.raw`function (container, s) {
  var TABLES = ${JSON.stringify(TABLES)};
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function bytesOf(b64) {
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  var raw = bytesOf(s.data);
  var values = s.encoding === "f32" ? new Float32Array(raw.buffer) : s.encoding === "f64" ?
    new Float64Array(raw.buffer) : s.encoding === "i32" ? new Int32Array(raw.buffer) : raw;
  var valid = s.valid ? bytesOf(s.valid) : null;
  var axes = s.axes;
  var rank = axes.length;
  var counts = axes.map(function (a) { return Math.ceil(a.size / a.step); });
  var strides = [];
  for (var k = rank - 1, step = 1; k >= 0; k--) { strides[k] = step; step *= counts[k]; }
  var scale = s.scale;
  var table = scale.map ? bytesOf(TABLES[scale.map]) : null;
  var cats = {};
  if (scale.categories) scale.categories.forEach(function (c) { cats[c.value] = c; });
  var special = s.special;
  function label(a) { return a.named ? a.name : "axis " + a.name; }
  function realIndex(axis, i) { return i * axes[axis].step; }
  function colorOf(x) {
    if (x !== x) return special.nan;
    if (x === Infinity) return special.posInf;
    if (x === -Infinity) return special.negInf;
    if (table) {
      var level = scale.hi > scale.lo ?
        Math.round(Math.min(1, Math.max(0, (x - scale.lo) / (scale.hi - scale.lo))) * 255) : 128;
      return [table[3 * level], table[3 * level + 1], table[3 * level + 2]];
    }
    var c = cats[x];
    return c ? c.color : special.unknown;
  }
  function valueText(x) {
    if (x !== x) return "NaN";
    if (x === Infinity) return "+inf";
    if (x === -Infinity) return "-inf";
    if (scale.categories && cats[x] && cats[x].label !== String(x)) return cats[x].label;
    if (s.kind !== "float" || (x === Math.round(x) && Math.abs(x) < 1e6)) return String(x);
    return String(Number(x.toPrecision(6)));
  }
  function group(list) {
    var n = 1;
    for (var i = 0; i < list.length; i++) n *= counts[list[i]];
    return n;
  }
  // Row and column lists run outermost first; the last of each is drawn as pixels.
  var rowFacets = s.rows.slice(0, -1), colFacets = s.columns.slice(0, -1);
  var rowAxis = s.rows.length ? s.rows[s.rows.length - 1] : -1;
  var colAxis = s.columns.length ? s.columns[s.columns.length - 1] : -1;
  var height = rowAxis < 0 ? 1 : counts[rowAxis];
  var width = colAxis < 0 ? 1 : counts[colAxis];
  var px = s.cellSize;
  var selected = s.sliders.map(function () { return 0; });
  function digits(list, n) {
    var out = [];
    for (var i = list.length - 1; i >= 0; i--) { out[i] = n % counts[list[i]]; n = Math.floor(n / counts[list[i]]); }
    return out;
  }
  function facetText(list, ds) {
    return list.map(function (axis, i) { return label(axes[axis]) + "=" + realIndex(axis, ds[i]); }).join(", ");
  }

  var view = el("div", "skts-array");
  var head = el("div", "skts-array-head");
  head.appendChild(el("span", "skts-array-title", s.title));
  var placed = [];
  if (s.rows.length) placed.push("rows: " + s.rows.map(function (a) { return label(axes[a]); }).join(" \u203a "));
  if (s.columns.length) placed.push("columns: " + s.columns.map(function (a) { return label(axes[a]); }).join(" \u203a "));
  head.appendChild(el("span", "skts-array-axes", placed.join("   ")));
  if (s.themeButton) {
    var theme = el("button", "skts-theme", s.dark ? "Light theme" : "Dark theme");
    theme.type = "button";
    theme.setAttribute("aria-pressed", s.dark ? "true" : "false");
    theme.addEventListener("click", function () {
      var root = container.closest(".skts-root");
      var dark = root.classList.toggle("skts-dark");
      theme.setAttribute("aria-pressed", dark ? "true" : "false");
      theme.textContent = dark ? "Light theme" : "Dark theme";
    });
    head.appendChild(theme);
  }
  view.appendChild(head);
  if (s.note) view.appendChild(el("div", "skts-array-note", s.note));

  var sliderBox = el("div", "skts-array-sliders");
  var canvases = [];
  var shownSliders = 0;
  s.sliders.forEach(function (axis, i) {
    // an axis of one index has nothing to slide; the hover text still names its index
    if (counts[axis] < 2) return;
    shownSliders++;
    var row = el("label", "skts-array-slider");
    row.appendChild(el("span", "skts-label", label(axes[axis])));
    var input = el("input");
    input.type = "range";
    input.min = "0";
    input.max = String(counts[axis] - 1);
    input.step = "1";
    input.value = "0";
    input.setAttribute("data-axis", axes[axis].name);
    var shown = el("span", "skts-number", realIndex(axis, 0) + " / " + (axes[axis].size - 1));
    input.addEventListener("input", function () {
      selected[i] = Number(input.value);
      shown.textContent = realIndex(axis, selected[i]) + " / " + (axes[axis].size - 1);
      drawAll();
    });
    row.appendChild(input);
    row.appendChild(shown);
    sliderBox.appendChild(row);
  });
  if (shownSliders) view.appendChild(sliderBox);

  var grid = el("table", "skts-array-grid");
  var rowGroups = group(rowFacets), colGroups = group(colFacets);
  function tickStep() {
    var k = Math.max(1, Math.ceil(20 / px));
    var nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000];
    for (var i = 0; i < nice.length; i++) if (nice[i] >= k) return nice[i];
    return k;
  }
  function ticks(axis, horizontal, length) {
    var box = el("div", horizontal ? "skts-ticks-x" : "skts-ticks-y");
    if (horizontal) box.style.width = length * px + "px";
    else box.style.height = length * px + "px";
    if (axis < 0) return box;
    var every = tickStep();
    for (var i = 0; i < counts[axis]; i += every) {
      var t = el("span", null, String(realIndex(axis, i)));
      t.style[horizontal ? "left" : "top"] = (i + 0.5) * px + "px";
      box.appendChild(t);
    }
    return box;
  }
  if (colFacets.length) {
    var labels = el("tr");
    if (rowFacets.length) labels.appendChild(el("td"));
    labels.appendChild(el("td"));
    for (var c = 0; c < colGroups; c++) labels.appendChild(el("td", "skts-collabel", facetText(colFacets, digits(colFacets, c))));
    grid.appendChild(labels);
  }
  var tickRow = el("tr");
  if (rowFacets.length) tickRow.appendChild(el("td"));
  var corner = el("td", "skts-corner",
    (rowAxis >= 0 ? label(axes[rowAxis]) + " \u2193 " : "") + (colAxis >= 0 ? label(axes[colAxis]) + " \u2192" : ""));
  tickRow.appendChild(corner);
  for (var c2 = 0; c2 < colGroups; c2++) {
    var td = el("td");
    td.appendChild(ticks(colAxis, true, width));
    tickRow.appendChild(td);
  }
  grid.appendChild(tickRow);
  for (var r = 0; r < rowGroups; r++) {
    var tr = el("tr");
    var rd = digits(rowFacets, r);
    if (rowFacets.length > 1 && r > 0 && rd[rd.length - 1] === 0) tr.className = "skts-group";
    if (rowFacets.length) tr.appendChild(el("td", "skts-rowlabel", facetText(rowFacets, rd)));
    var tickCell = el("td");
    tickCell.appendChild(ticks(rowAxis, false, height));
    tr.appendChild(tickCell);
    for (var c3 = 0; c3 < colGroups; c3++) {
      var cd = digits(colFacets, c3);
      var cell = el("td");
      var canvas = el("canvas", "skts-facet");
      canvas.width = width;
      canvas.height = height;
      canvas.style.width = width * px + "px";
      canvas.style.height = height * px + "px";
      canvas.setAttribute("data-row", String(r));
      canvas.setAttribute("data-column", String(c3));
      var facetLabel = [facetText(rowFacets, rd), facetText(colFacets, cd)].filter(Boolean).join(", ");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", facetLabel || s.title);
      var fixed = [];
      rowFacets.forEach(function (axis, i) { fixed.push([axis, rd[i]]); });
      colFacets.forEach(function (axis, i) { fixed.push([axis, cd[i]]); });
      canvases.push({ canvas: canvas, fixed: fixed });
      cell.appendChild(canvas);
      tr.appendChild(cell);
    }
    grid.appendChild(tr);
  }
  view.appendChild(grid);

  function indexOf(f, y, x) {
    var idx = [];
    for (var a = 0; a < rank; a++) idx[a] = 0;
    f.fixed.forEach(function (p) { idx[p[0]] = p[1]; });
    s.sliders.forEach(function (axis, i) { idx[axis] = selected[i]; });
    if (rowAxis >= 0) idx[rowAxis] = y;
    if (colAxis >= 0) idx[colAxis] = x;
    return idx;
  }
  function offsetOf(idx) {
    var o = 0;
    for (var a = 0; a < rank; a++) o += idx[a] * strides[a];
    return o;
  }
  var lo = scale.lo, span = scale.hi - scale.lo;
  function draw(f) {
    if (width === 0 || height === 0) return;
    var ctx = f.canvas.getContext("2d");
    if (!ctx) return;
    var img = ctx.createImageData(width, height);
    var px4 = img.data;
    var base = offsetOf(indexOf(f, 0, 0));
    var dy = rowAxis >= 0 ? strides[rowAxis] : 0, dx = colAxis >= 0 ? strides[colAxis] : 0;
    for (var y = 0; y < height; y++) {
      for (var x = 0; x < width; x++) {
        var o = base + y * dy + x * dx;
        var p = 4 * (y * width + x);
        if (valid && !valid[o]) { px4[p + 3] = 0; continue; }
        var v = values[o];
        if (table && v - v === 0) {
          // the common case inline, without an array per cell: the same level as colorOf's
          var t = 3 * (span > 0 ? Math.round(Math.min(1, Math.max(0, (v - lo) / span)) * 255) : 128);
          px4[p] = table[t];
          px4[p + 1] = table[t + 1];
          px4[p + 2] = table[t + 2];
        } else {
          var rgb = colorOf(v);
          px4[p] = rgb[0];
          px4[p + 1] = rgb[1];
          px4[p + 2] = rgb[2];
        }
        px4[p + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  function drawAll() { canvases.forEach(draw); }

  var legend = el("div", "skts-array-legend");
  function swatch(rgb, text, masked) {
    var item = el("span");
    var sw = el("span", "skts-swatch" + (masked ? " skts-masked" : ""));
    if (rgb) sw.style.background = "rgb(" + rgb.join(",") + ")";
    item.appendChild(sw);
    item.appendChild(document.createTextNode(text));
    legend.appendChild(item);
  }
  if (table) {
    var bar = el("canvas", "skts-colorbar");
    bar.width = 256;
    bar.height = 1;
    var bctx = bar.getContext("2d");
    if (bctx) {
      var bimg = bctx.createImageData(256, 1);
      for (var i = 0; i < 256; i++) {
        bimg.data[4 * i] = table[3 * i];
        bimg.data[4 * i + 1] = table[3 * i + 1];
        bimg.data[4 * i + 2] = table[3 * i + 2];
        bimg.data[4 * i + 3] = 255;
      }
      bctx.putImageData(bimg, 0, 0);
    }
    var bounds = el("span");
    bounds.appendChild(el("span", "skts-number", valueText(scale.lo) + " "));
    bounds.appendChild(bar);
    bounds.appendChild(el("span", "skts-number", " " + valueText(scale.hi)));
    legend.appendChild(bounds);
    if (scale.around != null) legend.appendChild(el("span", null, "centred on " + valueText(scale.around)));
  } else {
    scale.categories.forEach(function (c) { swatch(c.color, c.label); });
  }
  if (s.counts.nan) swatch(special.nan, "NaN \u00d7" + s.counts.nan);
  if (s.counts.posInf) swatch(special.posInf, "+inf \u00d7" + s.counts.posInf);
  if (s.counts.negInf) swatch(special.negInf, "-inf \u00d7" + s.counts.negInf);
  if (s.counts.masked) swatch(null, "masked \u00d7" + s.counts.masked, true);
  view.appendChild(legend);

  var info = el("div", "skts-array-info", "\u00a0");
  view.appendChild(info);
  function describeCell(idx) {
    var positional = [], named = [];
    for (var a = 0; a < rank; a++) {
      var text = String(realIndex(a, idx[a]));
      if (axes[a].named) named.push(axes[a].name + "=" + text);
      else positional.push(text);
    }
    var where = named;
    if (positional.length) where = ["[" + positional.join(", ") + "]"].concat(named);
    var o = offsetOf(idx);
    var value = valid && !valid[o] ? "masked (" + valueText(values[o]) + ")" : valueText(values[o]);
    return (rank ? where.join(", ") : "scalar") + " \u2192 " + value;
  }
  canvases.forEach(function (f) {
    f.canvas.addEventListener("mousemove", function (ev) {
      var rect = f.canvas.getBoundingClientRect();
      var x = Math.min(width - 1, Math.max(0, Math.floor((ev.clientX - rect.left) / px)));
      var y = Math.min(height - 1, Math.max(0, Math.floor((ev.clientY - rect.top) / px)));
      info.textContent = describeCell(indexOf(f, y, x));
    });
    f.canvas.addEventListener("mouseleave", function () { info.textContent = "\u00a0"; });
  });
  container.appendChild(view);
  drawAll();
}`;
