/* The exemplar browser (pruning_impact.exemplar_browser): filters, sort and pages over the test set, drawn
   from window.exemplarBrowserData and one sprite sheet per class. No server, no network. */
(function () {
  "use strict";
  const root = document.getElementById("exemplar-browser-app");
  const data = window.exemplarBrowserData;
  if (!root) return;
  if (!data) {
    root.textContent = "The exemplar browser's data did not load (data.js beside this page).";
    return;
  }
  const base = root.dataset.base || "";
  const n = data.labels.length;
  const perPage = data.perPage || 60;
  const scale = Math.max(1, Math.round(56 / data.sprites.height));
  // each image's place in its class's sprite sheet: its rank among the class's images in test order
  const place = new Int32Array(n);
  const seen = new Int32Array(data.classNames.length);
  for (let i = 0; i < n; i++) place[i] = seen[data.labels[i]]++;
  const state = {level: data.levels.length - 1, cls: -1, show: "all", sort: "score-desc", page: 0};

  function element(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function select(name, label, options, value) {
    const wrap = element("label", {}, label + " ");
    const s = element("select", {name: name, "data-control": name});
    for (const [v, text] of options) {
      const o = element("option", {value: String(v)}, text);
      if (String(v) === String(value)) o.selected = true;
      s.appendChild(o);
    }
    s.addEventListener("change", () => { state[name] = s.value; state.page = 0; draw(); });
    wrap.appendChild(s);
    return wrap;
  }
  function names(text) {
    if (!text) return "";
    return text.split(" ").map(pair => {
      const [c, count] = pair.split(":");
      return data.classNames[+c] + " " + count;
    }).join(", ");
  }

  root.textContent = "";
  const controls = element("div", {class: "eb-controls"});
  controls.appendChild(select("level", "Sparsity", data.levels.map((l, i) => [i, l.name]), state.level));
  controls.appendChild(select("cls", "Class", [[-1, "all classes"]].concat(data.classNames.map((c, i) => [i, c])), state.cls));
  controls.appendChild(select("show", "Show", [["all", "all images"], ["pie", "PIEs only"], ["non-pie", "non-PIEs only"]], state.show));
  controls.appendChild(select("sort", "Sort by", [["score-desc", "exemplar score, highest first"], ["score-asc", "exemplar score, lowest first"], ["index", "test-set order"]], state.sort));
  root.appendChild(controls);
  const summary = element("div", {class: "eb-summary", "aria-live": "polite"});
  root.appendChild(summary);
  const pagerTop = element("div", {class: "eb-pager"});
  root.appendChild(pagerTop);
  const grid = element("div", {class: "eb-grid"});
  root.appendChild(grid);
  const note = element("p", {class: "eb-muted"},
    "Score: the taxicab distance between the dense and the sparse population's label distributions (0: the same " +
    "votes, 2: no label in common). Distributions: label and number of models giving it. PIE: the two " +
    "populations' most frequent labels differ.");
  root.appendChild(note);

  function chosen() {
    const level = data.levels[+state.level];
    const cls = +state.cls;
    const out = [];
    for (let i = 0; i < n; i++) {
      if (cls >= 0 && data.labels[i] !== cls) continue;
      const pie = level.pie.charCodeAt(i) === 49;
      if (state.show === "pie" && !pie) continue;
      if (state.show === "non-pie" && pie) continue;
      out.push(i);
    }
    if (state.sort === "score-desc") out.sort((a, b) => level.score[b] - level.score[a] || a - b);
    if (state.sort === "score-asc") out.sort((a, b) => level.score[a] - level.score[b] || a - b);
    return out;
  }

  function card(i, level) {
    const pie = level.pie.charCodeAt(i) === 49;
    const c = element("div", {class: "eb-card" + (pie ? " eb-pie" : ""), "data-example": String(i), "data-pie": pie ? "1" : "0"});
    const h = data.sprites.height, w = data.sprites.width, cols = data.sprites.columns;
    const label = data.labels[i], p = place[i];
    const thumb = element("div", {class: "eb-thumb", role: "img", "aria-label": "test image " + i});
    thumb.style.width = (w * scale) + "px";
    thumb.style.height = (h * scale) + "px";
    thumb.style.backgroundImage = "url('" + base + data.sprites.files[label] + "')";
    thumb.style.backgroundSize = (cols * w * scale) + "px auto";
    thumb.style.backgroundPosition = (-(p % cols) * w * scale) + "px " + (-Math.floor(p / cols) * h * scale) + "px";
    c.appendChild(thumb);
    const text = element("div", {class: "eb-text"});
    const head = element("div");
    head.appendChild(element("b", {}, "#" + i + " " + data.classNames[label]));
    if (pie) { head.appendChild(document.createTextNode(" ")); head.appendChild(element("span", {class: "eb-badge"}, "PIE")); }
    text.appendChild(head);
    text.appendChild(element("div", {}, "score " + level.score[i].toFixed(2)));
    text.appendChild(element("div", {class: "eb-muted"}, "dense (K=" + data.kDense + "): " + names(data.dense[i])));
    text.appendChild(element("div", {class: "eb-muted"}, level.name + " (K=" + level.k + "): " + names(level.sparse[i])));
    c.appendChild(text);
    return c;
  }

  function pager(count) {
    pagerTop.textContent = "";
    const pages = Math.max(1, Math.ceil(count / perPage));
    const prev = element("button", {type: "button", "data-control": "previous"}, "previous");
    const next = element("button", {type: "button", "data-control": "next"}, "next");
    prev.disabled = state.page <= 0;
    next.disabled = state.page >= pages - 1;
    prev.addEventListener("click", () => { state.page -= 1; draw(); });
    next.addEventListener("click", () => { state.page += 1; draw(); });
    pagerTop.appendChild(prev);
    pagerTop.appendChild(element("span", {}, "page " + (state.page + 1) + " of " + pages));
    pagerTop.appendChild(next);
  }

  function draw() {
    const level = data.levels[+state.level];
    const rows = chosen();
    state.page = Math.min(state.page, Math.max(0, Math.ceil(rows.length / perPage) - 1));
    let pies = 0;
    for (const i of rows) if (level.pie.charCodeAt(i) === 49) pies += 1;
    const first = rows.length ? state.page * perPage + 1 : 0;
    const last = Math.min(rows.length, (state.page + 1) * perPage);
    summary.textContent = rows.length + " of " + n + " test images match (" + pies + " PIEs at " + level.name +
      " sparsity); showing " + first + "-" + last + ".";
    root.dataset.matching = String(rows.length);
    pager(rows.length);
    grid.textContent = "";
    const fragment = document.createDocumentFragment();
    for (const i of rows.slice(state.page * perPage, (state.page + 1) * perPage)) fragment.appendChild(card(i, level));
    grid.appendChild(fragment);
    root.dataset.ready = "1";
  }
  draw();
})();
