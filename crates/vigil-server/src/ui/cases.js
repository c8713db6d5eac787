// Vigil's cases pages: the network graph (an SVG drawn by a small force layout written here, no
// library), link decisions, and the manual entry form (rows added and removed with buttons,
// errors beside their fields, duplicate candidates offered as "add as a source"). Data goes
// into the page as text only (textContent, attributes), never as HTML. Requests that change
// something carry the session's CSRF token (X-CSRF-Token).
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  function meta(name) {
    const m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.content : "";
  }
  const csrf = meta("csrf-token");

  async function send(method, url, body) {
    const r = await fetch(url, {
      method,
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let data;
    try {
      data = await r.json();
    } catch (_) {
      data = {};
    }
    return { status: r.status, data };
  }

  // ---- The graph: a force layout (repulsion between all nodes, springs along links, a pull
  // to the centre), run for a fixed number of steps from positions on a circle, so the same
  // network is drawn the same way each time.
  function layout(nodes, edges, w, h) {
    const n = nodes.length;
    const pos = nodes.map((_, i) => ({
      x: w / 2 + (Math.min(w, h) / 3) * Math.cos((2 * Math.PI * i) / Math.max(n, 1)),
      y: h / 2 + (Math.min(w, h) / 3) * Math.sin((2 * Math.PI * i) / Math.max(n, 1)),
    }));
    const k = Math.sqrt((w * h) / Math.max(n, 1)) * 0.6;
    for (let step = 0; step < 300; step++) {
      const t = 0.1 * (1 - step / 300) * k;
      const disp = pos.map(() => ({ x: 0, y: 0 }));
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          let dx = pos[i].x - pos[j].x;
          let dy = pos[i].y - pos[j].y;
          const d = Math.max(Math.hypot(dx, dy), 0.01);
          const f = (k * k) / d;
          dx = (dx / d) * f;
          dy = (dy / d) * f;
          disp[i].x += dx;
          disp[i].y += dy;
          disp[j].x -= dx;
          disp[j].y -= dy;
        }
      }
      for (const [a, b] of edges) {
        let dx = pos[a].x - pos[b].x;
        let dy = pos[a].y - pos[b].y;
        const d = Math.max(Math.hypot(dx, dy), 0.01);
        const f = (d * d) / k;
        dx = (dx / d) * f;
        dy = (dy / d) * f;
        disp[a].x -= dx;
        disp[a].y -= dy;
        disp[b].x += dx;
        disp[b].y += dy;
      }
      for (let i = 0; i < n; i++) {
        disp[i].x += (w / 2 - pos[i].x) * 0.05;
        disp[i].y += (h / 2 - pos[i].y) * 0.05;
        const d = Math.max(Math.hypot(disp[i].x, disp[i].y), 0.01);
        pos[i].x += (disp[i].x / d) * Math.min(d, t);
        pos[i].y += (disp[i].y / d) * Math.min(d, t);
        pos[i].x = Math.min(w - 40, Math.max(40, pos[i].x));
        pos[i].y = Math.min(h - 20, Math.max(20, pos[i].y));
      }
    }
    return pos;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  function drawGraph() {
    const svg = document.getElementById("graph");
    const dataEl = document.getElementById("graph-data");
    if (!svg || !dataEl) return;
    const data = JSON.parse(dataEl.textContent);
    const nodes = data.incidents || [];
    const index = new Map(nodes.map((n, i) => [n.id, i]));
    const links = (data.links || []).filter((l) => index.has(l.a) && index.has(l.b));
    const edges = links.map((l) => [index.get(l.a), index.get(l.b)]);
    const w = 720;
    const h = 480;
    const pos = layout(nodes, edges, w, h);
    const maxScore = Math.max(0.5, ...links.map((l) => l.score));
    links.forEach((l, i) => {
      const [a, b] = edges[i];
      const line = svgEl("line", {
        x1: pos[a].x, y1: pos[a].y, x2: pos[b].x, y2: pos[b].y,
        "stroke-width": 1 + (3 * l.score) / maxScore,
        class: "edge" + (l.decision ? " " + l.decision.decision : ""),
      });
      const title = svgEl("title", {});
      title.textContent = l.explanation;
      line.appendChild(title);
      svg.appendChild(line);
    });
    nodes.forEach((n, i) => {
      const g = svgEl("g", { class: "node", "data-id": n.id });
      g.appendChild(svgEl("circle", { cx: pos[i].x, cy: pos[i].y, r: 9 }));
      const label = svgEl("text", { x: pos[i].x + 12, y: pos[i].y + 4 });
      label.textContent = n.id + " · " + n.district;
      g.appendChild(label);
      const title = svgEl("title", {});
      title.textContent = n.id + ", " + n.date + ", " + n.category + ", " + n.district;
      g.appendChild(title);
      g.addEventListener("click", () => {
        window.location.href = "/ui/cases/incidents/" + encodeURIComponent(n.id);
      });
      svg.appendChild(g);
    });
  }

  function wireDecisions() {
    for (const li of document.querySelectorAll("#links li.link")) {
      const result = li.querySelector(".result");
      for (const [cls, decision] of [["confirm", "confirm"], ["reject", "reject"]]) {
        const button = li.querySelector("button." + cls);
        if (!button) continue;
        button.addEventListener("click", async () => {
          const note = li.querySelector("input.note").value.trim();
          if (!note) {
            result.textContent = "Write a note saying why first.";
            result.className = "result error";
            return;
          }
          const r = await send("POST", "/api/v1/cases/links", {
            a: li.dataset.a, b: li.dataset.b, decision, note,
          });
          if (r.status === 201) {
            result.textContent = decision === "confirm" ? "Confirmed." : "Rejected.";
            result.className = "result ok";
            li.dataset.decision = decision;
          } else {
            result.textContent = (r.data && r.data.message) || "HTTP " + r.status;
            result.className = "result error";
          }
        });
      }
    }
  }

  // ---- The entry form: rows of sources, abusers, victims and identifiers added and removed
  // with buttons; each victim has one relationship select per abuser, rebuilt when abusers
  // come and go (a select follows its abuser, by a key that never changes).
  const SEXES = ["unknown", "female", "male"];
  const CATEGORIES = ["unknown", "acquaintance", "stranger", "relative", "neighbour",
    "service_provider", "online_contact"];
  const KINDS = ["phone", "handle", "url", "crypto_address", "media_hash", "place", "vehicle",
    "person"];
  let nextKey = 1;

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function select(cls, options, blank) {
    const s = el("select", { class: cls });
    if (blank !== undefined) s.appendChild(el("option", { value: "" }, blank));
    for (const o of options) s.appendChild(el("option", { value: o }, o));
    return s;
  }

  // A labelled input or select with its error slot; `field` is the key inside the row.
  function field(row, label, control, name) {
    const l = el("label", {}, label + " ");
    control.dataset.field = name;
    l.appendChild(control);
    row.appendChild(l);
    row.appendChild(el("span", { class: "error", "data-slot": name }));
    return control;
  }

  function removeButton(row, what, after) {
    const b = el("button", { type: "button", class: "secondary remove" }, "Remove " + what);
    b.addEventListener("click", () => {
      row.remove();
      if (after) after();
    });
    row.appendChild(b);
  }

  function addSource(container) {
    const row = el("div", { class: "row source" });
    field(row, "Outlet *", el("input", { size: 20, placeholder: "newspaper, hotline, police" }), "outlet");
    field(row, "Report date *", el("input", { size: 11, placeholder: "YYYY-MM-DD" }), "date");
    field(row, "Link", el("input", { size: 30, placeholder: "https://… or clipping reference" }), "link");
    removeButton(row, "source");
    container.appendChild(row);
    return row;
  }

  function abuserRows() {
    return Array.from(document.querySelectorAll("#e-abusers .row.abuser"));
  }

  // Rebuilds every victim's relationship selects for the current abusers, keeping choices.
  function syncRelationships() {
    const abusers = abuserRows();
    for (const victim of document.querySelectorAll("#e-victims .row.victim")) {
      const box = victim.querySelector(".relationships");
      const kept = new Map();
      for (const s of box.querySelectorAll("select")) kept.set(s.dataset.abuserKey, s.value);
      box.textContent = "";
      if (abusers.length === 0) {
        box.appendChild(el("span", { class: "muted" }, "No abuser entered."));
        continue;
      }
      abusers.forEach((a, i) => {
        const l = el("label", {}, "Relationship to abuser " + (i + 1) + " ");
        const s = select("relationship", CATEGORIES.slice(1).concat(["unknown"]), "—");
        s.dataset.abuserKey = a.dataset.key;
        s.value = kept.get(a.dataset.key) || "";
        l.appendChild(s);
        box.appendChild(l);
        box.appendChild(el("span", { class: "error", "data-slot": "rel-" + a.dataset.key }));
      });
    }
  }

  function addAbuser(container) {
    const row = el("div", { class: "row abuser", "data-key": nextKey++ });
    row.appendChild(el("strong", { class: "n" }));
    field(row, "Sex", select("sex", SEXES), "sex");
    field(row, "Age band", el("input", { size: 7, placeholder: "e.g. 19-30" }), "age_band");
    field(row, "Juvenile", el("input", { type: "checkbox" }), "juvenile");
    field(row, "Category", select("category", CATEGORIES), "category");
    removeButton(row, "abuser", renumber);
    container.appendChild(row);
    renumber();
    return row;
  }

  function addVictim(container) {
    const row = el("div", { class: "row victim" });
    row.appendChild(el("strong", { class: "n" }));
    field(row, "Sex", select("sex", SEXES), "sex");
    field(row, "Age", el("input", { size: 6, placeholder: "years or band" }), "age");
    row.appendChild(el("span", { class: "error", "data-slot": "relationships" }));
    row.appendChild(el("div", { class: "relationships" }));
    removeButton(row, "victim", renumber);
    container.appendChild(row);
    renumber();
    return row;
  }

  function addIdentifier(container) {
    const row = el("div", { class: "row identifier" });
    field(row, "Kind", select("kind", KINDS), "kind");
    field(row, "Value", el("input", { size: 24 }), "value");
    field(row, "Confidence", el("input", { size: 4, value: "1", inputmode: "decimal" }), "confidence");
    field(row, "Seen in", el("input", { size: 14, placeholder: "outlet, police file" }), "source");
    field(row, "First seen", el("input", { size: 11, placeholder: "YYYY-MM-DD" }), "first_seen");
    field(row, "Last seen", el("input", { size: 11, placeholder: "YYYY-MM-DD" }), "last_seen");
    removeButton(row, "identifier");
    container.appendChild(row);
    return row;
  }

  function renumber() {
    abuserRows().forEach((r, i) => { r.querySelector(".n").textContent = "Abuser " + (i + 1) + " "; });
    document.querySelectorAll("#e-victims .row.victim").forEach((r, i) => {
      r.querySelector(".n").textContent = "Victim " + (i + 1) + " ";
    });
    syncRelationships();
  }

  function val(row, name) {
    const c = row.querySelector('[data-field="' + name + '"]');
    if (!c) return "";
    return c.type === "checkbox" ? c.checked : c.value.trim();
  }

  // Reads the form into the API's entry, and labels each error slot with the path the server
  // will use for it (`victims[1].age`, `victims[0].relationships[0]`).
  function collect(form) {
    const f = new FormData(form);
    const text = (k) => String(f.get(k) || "").trim();
    const entry = {};
    for (const k of ["id", "taxonomy", "date", "category", "subtype", "province", "district",
      "tehsil", "locality", "place", "reported_to_police", "case_registered", "stage"]) {
      entry[k] = text(k);
    }
    entry.flags = {
      abducted_then_abused: f.get("flag_abducted_then_abused") !== null,
      murdered: f.get("flag_murdered") !== null,
      recorded_online: f.get("flag_recorded_online") !== null,
      extortion: f.get("flag_extortion") !== null,
    };
    if (text("lat") || text("lon")) entry.point = { lat: text("lat"), lon: text("lon") };
    const label = (row, prefix) => {
      for (const s of row.querySelectorAll(":scope > [data-slot]")) {
        s.dataset.errorFor = prefix + "." + s.dataset.slot;
      }
    };
    entry.sources = Array.from(document.querySelectorAll("#e-sources .row.source")).map((r, i) => {
      label(r, "sources[" + i + "]");
      return { outlet: val(r, "outlet"), date: val(r, "date"), link: val(r, "link") };
    });
    const abusers = abuserRows();
    const index = new Map(abusers.map((a, i) => [a.dataset.key, i]));
    entry.abusers = abusers.map((r, i) => {
      label(r, "abusers[" + i + "]");
      return { sex: val(r, "sex"), age_band: val(r, "age_band"), juvenile: val(r, "juvenile"),
        category: val(r, "category") };
    });
    entry.victims = Array.from(document.querySelectorAll("#e-victims .row.victim")).map((r, i) => {
      label(r, "victims[" + i + "]");
      const relationships = [];
      for (const s of r.querySelectorAll(".relationships select")) {
        const slot = r.querySelector('[data-slot="rel-' + s.dataset.abuserKey + '"]');
        if (!s.value || !index.has(s.dataset.abuserKey)) {
          if (slot) slot.dataset.errorFor = "";
          continue;
        }
        if (slot) slot.dataset.errorFor = "victims[" + i + "].relationships[" + relationships.length + "]";
        relationships.push({ abuser: index.get(s.dataset.abuserKey), category: s.value });
      }
      return { sex: val(r, "sex"), age: val(r, "age"), relationships };
    });
    entry.identifiers = Array.from(document.querySelectorAll("#e-identifiers .row.identifier"))
      .map((r, i) => {
        label(r, "identifiers[" + i + "]");
        return { kind: val(r, "kind"), value: val(r, "value"), confidence: val(r, "confidence"),
          source: val(r, "source"), first_seen: val(r, "first_seen"), last_seen: val(r, "last_seen") };
      });
    return entry;
  }

  // Shows each error beside the field its path names, or beside the nearest enclosing one
  // (`victims[0].relationships[0].category` → `victims[0].relationships[0]` → …).
  function showErrors(form, top, errors) {
    for (const e of errors || []) {
      let path = String(e.field);
      let slot = null;
      for (;;) {
        slot = form.querySelector('[data-error-for="' + CSS.escape(path) + '"]');
        if (slot) break;
        const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
        if (shorter === path || !shorter) break;
        path = shorter;
      }
      const line = e.field + ": " + e.problem;
      if (slot) slot.textContent = (slot.textContent ? slot.textContent + "; " : "") + line;
      else top.textContent += " — " + line;
    }
  }

  function showDuplicates(form, entry, candidates) {
    const box = document.getElementById("entry-duplicates");
    const list = document.getElementById("duplicate-list");
    list.textContent = "";
    for (const k of candidates) {
      const li = el("li", { class: "candidate", "data-id": k.id });
      const a = el("a", { href: "/ui/cases/incidents/" + encodeURIComponent(k.id) }, k.id);
      li.appendChild(a);
      li.appendChild(document.createTextNode(
        " " + k.date + ", " + k.category + (k.subtype ? " (" + k.subtype + ")" : "") + ", " +
        k.district + " (" + k.province + "); reported by " + (k.outlets || []).join(", ") + ". "));
      li.appendChild(el("span", { class: "why muted" }, "Why: " + (k.why || []).join("; ") + ". "));
      const b = el("button", { type: "button", class: "add-source" },
        "Add this report as a source of " + k.id);
      const result = el("span", { class: "result", role: "status" });
      b.addEventListener("click", async () => {
        b.disabled = true;
        const problems = [];
        for (const s of entry.sources) {
          const r = await send("POST", "/api/v1/cases/incidents/" + encodeURIComponent(k.id) +
            "/sources", s);
          if (r.status !== 201) {
            const errs = ((r.data && r.data.errors) || []).map((e) => e.field + ": " + e.problem);
            problems.push(((r.data && r.data.message) || "HTTP " + r.status) +
              (errs.length ? " (" + errs.join("; ") + ")" : ""));
          }
        }
        if (problems.length === 0) {
          window.location.href = "/ui/cases/incidents/" + encodeURIComponent(k.id);
          return;
        }
        result.textContent = problems.join(" ");
        result.className = "result error";
        b.disabled = false;
      });
      li.appendChild(b);
      li.appendChild(result);
      list.appendChild(li);
    }
    box.hidden = false;
  }

  async function submitEntry(form, forceNew) {
    for (const s of form.querySelectorAll("[data-error-for]")) s.textContent = "";
    const top = document.getElementById("entry-error");
    top.hidden = true;
    top.textContent = "";
    const entry = collect(form);
    if (forceNew) entry.force_new = true;
    else document.getElementById("entry-duplicates").hidden = true;
    const r = await send("POST", "/api/v1/cases/incidents", entry);
    if (r.status === 201) {
      window.location.href = "/ui/cases/incidents/" + encodeURIComponent(r.data.id);
      return;
    }
    if (r.status === 409 && r.data && Array.isArray(r.data.duplicates)) {
      showDuplicates(form, entry, r.data.duplicates);
      const n = r.data.duplicates.length;
      top.textContent = "This case may already be registered (" + n + " candidate" +
        (n === 1 ? "" : "s") + " below): add this report as a source of it, or save it as a " +
        "new incident.";
      top.hidden = false;
      document.getElementById("entry-duplicates").scrollIntoView();
      return;
    }
    top.textContent = (r.data && r.data.message) || "HTTP " + r.status;
    top.hidden = false;
    showErrors(form, top, r.data && r.data.errors);
  }

  // Fills the area suggestions from the stored hierarchy (codes only).
  async function areaSuggestions() {
    try {
      const r = await fetch("/api/v1/cases/areas", { credentials: "same-origin" });
      if (!r.ok) return;
      const a = await r.json();
      for (const [list, key] of [["e-provinces", "provinces"], ["e-districts", "districts"],
        ["e-tehsils", "tehsils"]]) {
        const dl = document.getElementById(list);
        for (const [code, area] of Object.entries(a[key] || {})) {
          dl.appendChild(el("option", { value: code }, (area && area.name) || code));
        }
      }
    } catch (_) {
      // Suggestions only.
    }
  }

  function wireEntry() {
    const form = document.getElementById("case-entry");
    if (!form) return;
    const sources = document.getElementById("e-sources");
    const abusers = document.getElementById("e-abusers");
    const victims = document.getElementById("e-victims");
    const identifiers = document.getElementById("e-identifiers");
    document.getElementById("add-source").addEventListener("click", () => addSource(sources));
    document.getElementById("add-abuser").addEventListener("click", () => addAbuser(abusers));
    document.getElementById("add-victim").addEventListener("click", () => addVictim(victims));
    document.getElementById("add-identifier").addEventListener("click", () => addIdentifier(identifiers));
    addSource(sources);
    addVictim(victims);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submitEntry(form, false);
    });
    document.getElementById("entry-force").addEventListener("click", () => submitEntry(form, true));
    areaSuggestions();
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawGraph();
    wireDecisions();
    wireEntry();
  });
})();
