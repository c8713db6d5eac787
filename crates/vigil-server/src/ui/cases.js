// Vigil's cases pages: the network graph (an SVG drawn by a small force layout written here, no
// library), link decisions, and the manual entry form. Data goes into the page as text only
// (textContent, attributes), never as HTML. Requests that change something carry the session's
// CSRF token (X-CSRF-Token).
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

  function wireEntry() {
    const form = document.getElementById("case-entry");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      for (const s of form.querySelectorAll("[data-error-for]")) s.textContent = "";
      const top = document.getElementById("entry-error");
      const saved = document.getElementById("entry-saved");
      top.hidden = true;
      saved.hidden = true;
      const f = new FormData(form);
      const text = (k) => String(f.get(k) || "").trim();
      const entry = {};
      for (const k of ["id", "taxonomy", "date", "category", "subtype", "province", "district",
        "locality", "place", "reported_to_police", "case_registered", "outlet", "report_date",
        "link"]) {
        entry[k] = text(k);
      }
      entry.victims = text("victim_sex") ? [{ sex: text("victim_sex"), age: text("victim_age") }] : [];
      entry.identifiers = text("identifiers").split("\n").map((l) => l.trim()).filter((l) => l)
        .map((l) => {
          const at = l.indexOf(" ");
          return at < 0 ? { kind: l, value: "" } : { kind: l.slice(0, at), value: l.slice(at + 1) };
        });
      const r = await send("POST", "/api/v1/cases/incidents", entry);
      if (r.status === 201) {
        saved.textContent = "Saved incident " + r.data.id + ".";
        saved.hidden = false;
        return;
      }
      top.textContent = (r.data && r.data.message) || "HTTP " + r.status;
      top.hidden = false;
      for (const e of (r.data && r.data.errors) || []) {
        const base = String(e.field).split(/[.[]/)[0];
        const slot = form.querySelector('[data-error-for="' + CSS.escape(base) + '"]') ||
          form.querySelector('[data-error-for="' + CSS.escape(e.field) + '"]');
        const line = e.field + ": " + e.problem;
        if (slot) slot.textContent = (slot.textContent ? slot.textContent + "; " : "") + line;
        else top.textContent += " — " + line;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawGraph();
    wireDecisions();
    wireEntry();
  });
})();
