/**
 * The stylesheet and the script embedded in every HTML rendering. They are plain strings so the
 * rendering is self-contained: no network, no bundler, nothing global (every rule is scoped under
 * `.skts-root`, and the script only touches the element whose id it is given).
 *
 * @module
 */

import { ARRAY_CLIENT } from "./arrayClient.js";
import { SPECIAL_COLORS, UNKNOWN_CATEGORY } from "./colormap.js";

/** The colours of NaN, the infinities and unknown categories, which every array view shares. */
const SPECIAL = JSON.stringify({ ...SPECIAL_COLORS, unknown: UNKNOWN_CATEGORY });

/** The stylesheet of a rendering; every colour is a CSS custom property. */
export const STYLE = `
.skts-root{--skts-bg:#ffffff;--skts-fg:#1f2328;--skts-muted:#6e7781;--skts-border:#d0d7de;
--skts-string:#0a7f3f;--skts-number:#0550ae;--skts-keyword:#8250df;--skts-array:#953800;
--skts-selected:#e3a008;--skts-selected-bg:rgba(255,211,61,.28);--skts-bad:#cf222e;--skts-mix:#ffffff;
--skts-button-bg:#f6f8fa;--skts-tint:75%;
font:12px/1.55 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
color:var(--skts-fg);background:var(--skts-bg);border:1px solid var(--skts-border);
border-radius:6px;padding:6px 10px;overflow-x:auto;text-align:left}
.skts-root.skts-dark{--skts-bg:#1e1e1e;--skts-fg:#d4d4d4;--skts-muted:#8b949e;--skts-border:#3d444d;
--skts-string:#7ee787;--skts-number:#79c0ff;--skts-keyword:#d2a8ff;--skts-array:#ffa657;
--skts-selected:#f2cc60;--skts-selected-bg:rgba(242,204,96,.18);--skts-bad:#ff7b72;--skts-mix:#1e1e1e;
--skts-button-bg:#2d333b;--skts-tint:40%}
.skts-root button{font:inherit;font-size:11px;color:var(--skts-fg);background:var(--skts-button-bg);
border:1px solid var(--skts-border);border-radius:4px;padding:0 6px;cursor:pointer;line-height:1.5}
.skts-toolbar{display:flex;gap:6px;margin-bottom:4px}
.skts-text{margin:0;font:inherit;white-space:pre}
.skts-head{white-space:nowrap;padding:0 2px}
.skts-root button.skts-toggle{border:none;background:none;padding:0;width:14px;text-align:center;color:var(--skts-muted)}
.skts-spacer{display:inline-block;width:14px}
.skts-label{color:var(--skts-muted)}
.skts-static>.skts-head>.skts-label{font-style:italic}
.skts-tag{color:var(--skts-muted);font-size:10px;margin-left:6px}
.skts-type{font-weight:600}
.skts-colored>.skts-head>.skts-type{background:color-mix(in srgb,var(--skts-c) var(--skts-tint),var(--skts-mix));border-radius:3px;padding:0 3px}
.skts-body{margin-left:6px;padding-left:14px;border-left:1px dotted var(--skts-border)}
.skts-colored>.skts-body{border-left:3px solid color-mix(in srgb,var(--skts-c) var(--skts-tint),var(--skts-mix));padding-left:12px}
.skts-close{padding-left:16px}
.skts-node:not(.skts-open)>.skts-body,.skts-node:not(.skts-open)>.skts-close{display:none}
.skts-open>.skts-head>.skts-ellipsis{display:none}
.skts-ellipsis{color:var(--skts-muted)}
.skts-string{color:var(--skts-string)}.skts-number{color:var(--skts-number)}
.skts-keyword{color:var(--skts-keyword)}.skts-array{color:var(--skts-array)}.skts-other{color:var(--skts-muted)}
.skts-stats{color:var(--skts-muted);margin-left:8px}
.skts-bad{color:var(--skts-bad);font-weight:600;margin-left:6px}
.skts-heat{margin-left:8px;vertical-align:middle;image-rendering:pixelated;border:1px solid var(--skts-border)}
.skts-io{color:var(--skts-muted);font-style:italic}
.skts-root button.skts-copy{opacity:.25;margin-left:8px;font-size:10px}
.skts-head:hover>button.skts-copy,.skts-root button.skts-copy:focus{opacity:1}
.skts-selected{outline:2px solid var(--skts-selected);background:var(--skts-selected-bg);border-radius:3px;margin:1px 0}
`;

/**
 * The script of a rendering, called with the id of its root element. It replaces the static text
 * form (shown where scripts do not run) by the toolbar and the tree, parses the embedded JSON
 * tree, renders the nodes marked open, renders the children of other nodes the first time they
 * are expanded, and handles the toolbar and the "copy path" buttons. Every text from the tree
 * reaches the page through `textContent` or `setAttribute`, never as markup.
 */
export const SCRIPT = String.raw`(function (id) {
  var buildArray = ${ARRAY_CLIENT};
  var root = document.getElementById(id);
  var dataEl = document.getElementById(id + "-data");
  if (!root || !dataEl || root.getAttribute("data-skts-ready")) return;
  var t0 = performance.now();
  var data = JSON.parse(dataEl.textContent);
  // heat map cells and array view values, referred to by offset from the JSON tree
  var bulkEl = document.getElementById(id + "-bulk");
  var bulk = bulkEl ? bulkEl.textContent : "";
  var info = new WeakMap();
  var tree = root.querySelector(".skts-tree");
  var text = root.querySelector(".skts-text");
  if (text) root.removeChild(text);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function button(cls, text, title) {
    var b = el("button", cls, text);
    b.type = "button";
    if (title) b.title = title;
    return b;
  }
  var SEQ = [[247, 251, 255], [8, 48, 107]];
  var LEVELS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
  function mix(a, b, t) {
    return [0, 1, 2].map(function (i) { return Math.round(a[i] + (b[i] - a[i]) * t); });
  }
  function heatColor(v, diverging) {
    if (v === 255) return [255, 0, 255];
    if (!diverging) return mix(SEQ[0], SEQ[1], v / 254);
    if (v < 127) return mix([33, 102, 172], [247, 247, 247], v / 127);
    return mix([247, 247, 247], [178, 24, 43], (v - 127) / 127);
  }
  function heatMap(h) {
    var c = el("canvas", "skts-heat");
    c.width = h.c;
    c.height = h.r;
    var cell = Math.max(1, Math.min(6, Math.floor(192 / h.c), Math.floor(48 / h.r)));
    c.style.width = h.c * cell + "px";
    c.style.height = (h.r === 1 ? 8 : h.r * cell) + "px";
    var ctx = c.getContext("2d");
    if (ctx) {
      var img = ctx.createImageData(h.c, h.r);
      var cells = bulk.substr(h.o, h.r * h.c);
      for (var i = 0; i < h.r * h.c; i++) {
        var level = LEVELS.indexOf(cells.charAt(i));
        var rgb = heatColor(level === 63 ? 255 : Math.round((level * 254) / 62), h.m === "d");
        img.data[4 * i] = rgb[0];
        img.data[4 * i + 1] = rgb[1];
        img.data[4 * i + 2] = rgb[2];
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", "heat map " + h.r + "x" + h.c);
    return c;
  }
  function renderNode(d, parentPath, parent) {
    var node = el("div", "skts-node");
    // a missing step is the field step of the label: "name=" is ".name"
    var path = parentPath + (d.p != null ? d.p : d.l ? "." + d.l.slice(0, -1) : "");
    node.setAttribute("data-path", path);
    var colorVar = d.v === 1 ? d.y : d.v;
    if (colorVar && /^[\w-]+$/.test(colorVar)) {
      node.classList.add("skts-colored");
      node.style.setProperty("--skts-c", "var(--skts-color-" + colorVar + ")");
    }
    if (d.s) node.classList.add("skts-selected");
    if (d.z) node.classList.add("skts-static");
    var head = el("div", "skts-head");
    node.appendChild(head);
    var branch = !!d.c;
    if (branch) {
      node.classList.add("skts-branch");
      var t = button("skts-toggle", "\u25b8", "Expand");
      t.setAttribute("aria-expanded", "false");
      head.appendChild(t);
    } else {
      node.classList.add("skts-leaf");
      head.appendChild(el("span", "skts-spacer"));
    }
    if (d.l) head.appendChild(el("span", "skts-label", d.l));
    // structs and registered nodes are "Name(" … ")"; a struct's summary counts its fields
    var close = d.e != null ? d.e : ")";
    if (branch) {
      if (d.y) {
        head.appendChild(el("span", "skts-type", d.y));
        head.appendChild(el("span", "skts-punct", d.o != null ? d.o.slice(d.y.length) : "("));
      } else {
        head.appendChild(el("span", "skts-punct", d.o));
      }
      var count = d.n != null ? d.n : d.c.length + (d.c.length === 1 ? " field" : " fields");
      head.appendChild(el("span", "skts-ellipsis", "\u2026" + close + "  " + count));
    } else {
      // an array leaf ("t") comes without the angle brackets of its text
      var leafClass = d.y ? "skts-type" : "skts-value skts-" + (d.k === "t" ? "array" : d.k || "other");
      head.appendChild(el("span", leafClass, d.k === "t" ? "<" + d.x + ">" : d.x));
      if (d.a) {
        if (d.a.t) head.appendChild(el("span", "skts-stats", d.a.t));
        if (d.a.n) head.appendChild(el("span", "skts-bad", "nan=" + d.a.n));
        if (d.a.f) head.appendChild(el("span", "skts-bad", "inf=" + d.a.f));
        if (d.a.h) head.appendChild(heatMap(d.a.h));
        if (d.a.v) head.appendChild(button("skts-array-open", "show array", "Show the array view"));
      }
    }
    if (d.z) head.appendChild(el("span", "skts-tag", "static"));
    if (d.g) head.appendChild(el("span", "skts-tag", "deeper levels not shown"));
    if (path) head.appendChild(button("skts-copy", "copy path", "Copy the path " + path));
    if (branch) {
      node.appendChild(el("div", "skts-body"));
      node.appendChild(el("div", "skts-close", close));
    }
    info.set(node, { d: d, path: path, filled: false });
    parent.appendChild(node);
    if (branch && d.f) expand(node);
    return node;
  }
  function fill(node) {
    var i = info.get(node);
    if (i.filled) return;
    i.filled = true;
    var body = node.children[1];
    if (i.d.i != null) body.appendChild(el("div", "skts-io", "# input: " + i.d.i));
    if (i.d.u != null) body.appendChild(el("div", "skts-io", "# output: " + i.d.u));
    for (var j = 0; j < i.d.c.length; j++) renderNode(i.d.c[j], i.path, body);
  }
  function setToggle(node, open) {
    var t = node.firstChild.firstChild;
    t.textContent = open ? "\u25be" : "\u25b8";
    t.title = open ? "Collapse" : "Expand";
    t.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function expand(node) {
    fill(node);
    node.classList.add("skts-open");
    setToggle(node, true);
  }
  function collapse(node) {
    node.classList.remove("skts-open");
    setToggle(node, false);
  }
  function expandAll() {
    var stack = [].slice.call(tree.querySelectorAll(".skts-branch"));
    while (stack.length) {
      var n = stack.pop();
      if (info.get(n).filled && n.classList.contains("skts-open")) continue;
      expand(n);
      var kids = n.children[1].children;
      for (var k = 0; k < kids.length; k++) if (kids[k].classList.contains("skts-branch")) stack.push(kids[k]);
    }
  }
  /** The array view's spec with its values taken from the bulk text and the special colours. */
  function arraySpec(v) {
    var spec = {};
    for (var k in v) if (Object.prototype.hasOwnProperty.call(v, k)) spec[k] = v[k];
    spec.data = bulk.substr(v.b[0], v.b[1]);
    spec.special = ${SPECIAL};
    return spec;
  }
  function toggleArray(node, b) {
    var panel = null;
    for (var k = 0; k < node.children.length; k++) {
      if (node.children[k].classList.contains("skts-array-panel")) panel = node.children[k];
    }
    if (!panel) {
      panel = el("div", "skts-array-panel");
      node.insertBefore(panel, node.children[1] || null);
      buildArray(panel, arraySpec(info.get(node).d.a.v));
    } else {
      panel.hidden = !panel.hidden;
    }
    b.textContent = panel.hidden ? "show array" : "hide array";
    b.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
  }
  function copy(text, b) {
    root.setAttribute("data-last-copied", text);
    function done() {
      b.textContent = "copied";
      setTimeout(function () { b.textContent = "copy path"; }, 1200);
    }
    function fallback() {
      var ta = el("textarea");
      ta.value = text;
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      root.appendChild(ta);
      ta.select();
      try { document.execCommand("copy"); } catch (e) {}
      root.removeChild(ta);
      done();
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }
  root.addEventListener("click", function (ev) {
    var target = ev.target;
    if (!target || !target.closest) return;
    var b = target.closest("button");
    if (!b || b.closest(".skts-root") !== root) return;
    var node = b.parentNode && b.parentNode.parentNode;
    if (b.classList.contains("skts-toggle")) {
      if (node.classList.contains("skts-open")) collapse(node);
      else expand(node);
    } else if (b.classList.contains("skts-array-open")) {
      toggleArray(node, b);
    } else if (b.classList.contains("skts-copy")) {
      copy(info.get(node).path, b);
    } else if (b.classList.contains("skts-theme")) {
      var dark = root.classList.toggle("skts-dark");
      b.setAttribute("aria-pressed", dark ? "true" : "false");
      b.textContent = dark ? "Light theme" : "Dark theme";
    } else if (b.classList.contains("skts-expand-all")) {
      expandAll();
    } else if (b.classList.contains("skts-collapse-all")) {
      var open = tree.querySelectorAll(".skts-open");
      for (var k = 0; k < open.length; k++) collapse(open[k]);
    }
  });
  var dark = root.classList.contains("skts-dark");
  var bar = el("div", "skts-toolbar");
  bar.appendChild(button("skts-expand-all", "Expand all"));
  bar.appendChild(button("skts-collapse-all", "Collapse all"));
  var theme = button("skts-theme", dark ? "Light theme" : "Dark theme");
  theme.setAttribute("aria-pressed", dark ? "true" : "false");
  bar.appendChild(theme);
  root.insertBefore(bar, tree);
  renderNode(data, "", tree);
  root.setAttribute("data-skts-ready", "1");
  root.setAttribute("data-render-ms", String(Math.round((performance.now() - t0) * 100) / 100));
})`;
