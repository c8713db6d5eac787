// Vigil's web UI: the few actions that need a script — hash and image lookups, verdicts,
// imports, revealing a preview. Everything else is server-rendered HTML. Data from the server
// goes into the page as text only (textContent and attributes), never as HTML. Every request
// that changes something carries the session's CSRF token (X-CSRF-Token).
"use strict";
(function () {
  function meta(name) {
    const m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.content : "";
  }
  const csrf = meta("csrf-token");
  const canWrite = meta("can-write") === "1";

  async function call(method, url, body) {
    const headers = { "X-CSRF-Token": csrf };
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const r = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    const text = await r.text();
    let data;
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = { message: text };
    }
    return { status: r.status, data };
  }

  function message(data, status) {
    if (data && typeof data.message === "string" && data.message) return data.message;
    if (Array.isArray(data) && data[0] && data[0].msg) return data[0].msg;
    return "The server answered HTTP " + status;
  }

  // An element with properties, data- attributes and children (strings become text nodes).
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c);
    return e;
  }

  function verdictButtons(bank, signal, contentId, query) {
    if (!canWrite) return el("span", { class: "muted" }, "—");
    const box = el("span", { class: "verdicts" });
    const kinds = [
      ["true_positive", "True positive", "good"],
      ["false_positive", "False positive", "bad"],
    ];
    for (const [verdict, label, cls] of kinds) {
      box.append(
        el(
          "button",
          {
            type: "button",
            class: cls,
            "data-verdict": verdict,
            "data-bank": bank,
            "data-signal": signal,
            "data-content": String(contentId),
            "data-query": query,
          },
          label
        )
      );
    }
    return box;
  }

  async function recordVerdict(button) {
    const box = button.parentElement;
    const buttons = Array.from(box.querySelectorAll("button"));
    buttons.forEach((b) => (b.disabled = true));
    const body = {
      bank: button.dataset.bank,
      signal: button.dataset.signal,
      query: button.dataset.query,
      verdict: button.dataset.verdict,
    };
    const id = parseInt(button.dataset.content, 10);
    if (!Number.isNaN(id)) body.content_id = id;
    const { status, data } = await call("POST", "/api/v1/verdicts", body);
    if (status === 201) {
      const what = body.verdict === "true_positive" ? "true positive" : "false positive";
      box.replaceChildren(el("span", { class: "ok verdict-done" }, "Recorded: " + what));
    } else {
      buttons.forEach((b) => (b.disabled = false));
      const old = box.querySelector(".error");
      if (old) old.remove();
      box.append(el("span", { class: "error" }, " " + message(data, status)));
    }
  }

  function toggleReveal(control) {
    const img = document.getElementById(control.dataset.reveal);
    if (!img) return;
    const shown = img.classList.toggle("revealed");
    control.textContent = shown ? "Hide" : "Reveal";
    control.setAttribute("aria-pressed", shown ? "true" : "false");
    img.alt = shown ? "Preview of the chosen image" : "Preview of the chosen image (blurred)";
  }

  document.addEventListener("click", (ev) => {
    const verdict = ev.target.closest("button[data-verdict]");
    if (verdict) {
      recordVerdict(verdict);
      return;
    }
    const reveal = ev.target.closest("[data-reveal]");
    if (reveal) toggleReveal(reveal);
  });

  // The answer of POST /api/v1/lookup, as tables with verdict buttons.
  function showLookup(target, results, before) {
    target.replaceChildren();
    if (before) target.append(before);
    for (const r of results) {
      if (r.error) {
        target.append(el("p", { class: "error" }, r.error));
        continue;
      }
      const q = r.signal.type + ":" + r.signal.value;
      let head = "No match for ";
      if (r.match) head = "Match for ";
      else if (r.matches.length) head = "Matches suppressed by an allow-list for ";
      target.append(el("p", { class: "lookup-head" }, head, el("code", {}, q)));
      if (r.allowed_by && r.allowed_by.length) {
        const banks = Array.from(new Set(r.allowed_by.map((h) => h.bank))).join(", ");
        target.append(el("p", { class: "muted" }, "Allow-list bank(s): " + banks));
      }
      if (!r.matches.length) continue;
      const head_row = el(
        "tr",
        {},
        el("th", {}, "Bank"),
        el("th", {}, "Content"),
        el("th", {}, "Distance"),
        el("th", {}, "Matched hash"),
        el("th", {}, "Verdict")
      );
      const body = el("tbody");
      for (const h of r.matches) {
        const signal = h.kind + ":" + h.hash;
        const link = el(
          "a",
          { href: "/ui/banks/" + encodeURIComponent(h.bank) + "?q=" + encodeURIComponent(h.hash) },
          "#" + h.content_id
        );
        body.append(
          el(
            "tr",
            { class: "match" },
            el("td", { class: "bank" }, h.bank),
            el("td", { class: "content" }, link),
            el("td", { class: "distance" }, String(h.distance)),
            el("td", {}, el("code", {}, signal)),
            el("td", {}, verdictButtons(h.bank, signal, h.content_id, r.signal.value))
          )
        );
      }
      target.append(el("table", { class: "matches" }, el("thead", {}, head_row), body));
    }
  }

  async function lookup(out, signal, before) {
    const { status, data } = await call("POST", "/api/v1/lookup", { signals: [signal] });
    if (status !== 200) {
      out.replaceChildren(el("p", { class: "error" }, message(data, status)));
      return;
    }
    showLookup(out, data.results, before);
  }

  const hashForm = document.getElementById("hash-form");
  if (hashForm) {
    hashForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById("results");
      const value = document.getElementById("hash").value.trim();
      if (!value) return;
      out.replaceChildren(el("p", { class: "muted" }, "Looking up…"));
      await lookup(out, value);
    });
  }

  // The preview is made from the local file (an object URL): the server never sends an image.
  const photo = document.getElementById("photo");
  let previewUrl = null;
  if (photo) {
    photo.addEventListener("change", () => {
      const img = document.getElementById("preview");
      const box = document.getElementById("preview-box");
      const control = document.getElementById("reveal");
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = null;
      img.classList.remove("revealed");
      control.textContent = "Reveal";
      control.setAttribute("aria-pressed", "false");
      const file = photo.files[0];
      if (!file) {
        img.removeAttribute("src");
        box.hidden = true;
        return;
      }
      previewUrl = URL.createObjectURL(file);
      img.src = previewUrl;
      box.hidden = false;
    });
  }

  const imageForm = document.getElementById("image-form");
  if (imageForm) {
    imageForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById("results");
      const file = photo.files[0];
      if (!file) return;
      out.replaceChildren(el("p", { class: "muted" }, "Hashing…"));
      const form = new FormData();
      form.append("photo", file, file.name || "upload");
      const h = await call("POST", "/h/hash", form);
      if (h.status !== 200) {
        out.replaceChildren(el("p", { class: "error" }, message(h.data, h.status)));
        return;
      }
      const pdq = h.data.pdq;
      if (!pdq) {
        out.replaceChildren(
          el("p", { class: "muted" }, "The image is too plain to hash (PDQ quality under 50).")
        );
        return;
      }
      await lookup(out, "pdq:" + pdq, el("p", {}, "PDQ of the image: ", el("code", { id: "image-pdq" }, pdq)));
    });
  }

  const bankSelect = document.getElementById("bank");
  const newBank = document.getElementById("new-bank");
  if (bankSelect && newBank) {
    const sync = () => {
      newBank.hidden = bankSelect.value !== "";
    };
    bankSelect.addEventListener("change", sync);
    sync();
  }

  const importForm = document.getElementById("import-form");
  if (importForm) {
    importForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById("import-result");
      const given = new FormData(importForm);
      let bank = given.get("bank") || "";
      const create = bank === "";
      if (create) bank = String(given.get("new_name") || "").trim();
      if (!bank) {
        out.replaceChildren(el("p", { class: "error" }, "Name the new bank, or choose one."));
        return;
      }
      const form = new FormData();
      form.append("format", given.get("format"));
      if (given.get("skip_bad")) form.append("skip_bad", "true");
      if (create) {
        form.append("create", "true");
        form.append("kind", given.get("kind"));
        form.append("description", given.get("description") || "");
      }
      form.append("file", given.get("file"));
      out.replaceChildren(el("p", { class: "muted" }, "Importing…"));
      const url = "/api/v1/banks/" + encodeURIComponent(bank) + "/import";
      const { status, data } = await call("POST", url, form);
      out.replaceChildren();
      if (status === 200) {
        out.append(
          el(
            "p",
            { class: "ok", id: "import-summary" },
            "Imported " + data.records + " records into " + data.bank + ": " + data.created +
              " created, " + data.updated + " updated, " + data.signals_added + " signals added."
          ),
          el("p", {}, el("a", { href: "/ui/banks/" + encodeURIComponent(data.bank) }, "Open the bank"))
        );
        if (data.skipped_count) {
          out.append(el("p", { class: "error" }, "Skipped " + data.skipped_count + " bad line(s):"));
          out.append(el("ul", { class: "errors" }, ...data.skipped.map((e) => el("li", {}, e))));
        }
        return;
      }
      out.append(el("p", { class: "error", id: "import-error" }, message(data, status)));
      if (Array.isArray(data.errors) && data.errors.length) {
        out.append(el("ul", { class: "errors" }, ...data.errors.map((e) => el("li", {}, e))));
        if (data.error_count > data.errors.length) {
          out.append(el("p", { class: "muted" }, "… and " + (data.error_count - data.errors.length) + " more."));
        }
      }
    });
  }
})();
