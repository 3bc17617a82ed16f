"use strict";
(async function () {
  const spec = await (await fetch("/api/v1/openapi.json")).json();
  document.getElementById("desc").textContent = (spec.info && spec.info.description) || "";
  const ops = document.getElementById("ops");
  ops.textContent = "";
  const resolve = (s, depth) => {
    if (!s || depth > 6) return s;
    if (s.$ref) return resolve(spec.components.schemas[s.$ref.split("/").pop()], depth + 1);
    const out = Array.isArray(s) ? [] : {};
    for (const [k, v] of Object.entries(s)) out[k] = typeof v === "object" ? resolve(v, depth + 1) : v;
    return out;
  };
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; };
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      const d = el("details");
      const s = el("summary");
      s.append(el("span", method.toUpperCase(), "m " + method), document.createTextNode(" " + path + " — " + (op.summary || "")));
      d.append(s);
      if (op.description) d.append(el("p", op.description));
      const params = [...(item.parameters || []), ...(op.parameters || [])];
      if (params.length) { d.append(el("h4", "Parameters")); d.append(el("pre", JSON.stringify(resolve(params, 0), null, 1))); }
      if (op.requestBody) { d.append(el("h4", "Request body")); d.append(el("pre", JSON.stringify(resolve(op.requestBody, 0), null, 1))); }
      d.append(el("h4", "Responses"));
      d.append(el("pre", JSON.stringify(resolve(op.responses, 0), null, 1)));
      if (method === "get" && !path.includes("{")) {
        const b = el("button", "Try it");
        const out = el("pre");
        b.addEventListener("click", async () => {
          const key = document.getElementById("key").value;
          const r = await fetch(path, { headers: key ? { Authorization: "Bearer " + key } : {} });
          out.textContent = r.status + "\n" + JSON.stringify(await r.json(), null, 1);
        });
        d.append(b, out);
      }
      ops.append(d);
    }
  }
})();
