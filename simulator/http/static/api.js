// The API reference: /openapi.json rendered in the page, plain JavaScript, offline.
"use strict";
(async function () {
  const doc = await (await fetch("/openapi.json")).json();
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  document.getElementById("version").textContent = `${doc.info.title} ${doc.info.version} (OpenAPI ${doc.openapi})`;
  const schemas = doc.components.schemas;
  const show = (s) => s && s.$ref ? s.$ref.split("/").pop() : "";
  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push([method.toUpperCase(), path, op]);
  }
  let html = `<p>${esc(doc.info.description)}</p>`;
  for (const [tag, ops] of Object.entries(byTag)) {
    html += `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>`;
    for (const [method, path, op] of ops) {
      const ok = Object.entries(op.responses).filter(([c]) => c < "300");
      const errors = Object.keys(op.responses).filter((c) => c >= "400").join(" ");
      const body = op.requestBody && op.requestBody.content["application/json"];
      const bodyName = body ? show(body.schema) : (op.requestBody ? "multipart/form-data" : "");
      const answer = ok.map(([c, r]) => `${c} ${r.content ? Object.entries(r.content).map(([t, m]) => show(m.schema) || t).join("") : ""}`).join(", ");
      html += `<details class="op" id="${esc(op.operationId)}"><summary><span class="m ${method}">${method}</span>` +
        `<code class="p">${esc(path)}</code> — ${esc(op.summary)}</summary>` +
        `<p>operationId <code>${esc(op.operationId)}</code>; ${op.security && op.security[0].adminToken ? "admin token" : "account API key"}; ` +
        `answers ${esc(answer)}; errors ${esc(errors)}</p>` +
        ((op.parameters || []).length ? `<p>parameters: ${op.parameters.map((p) => `<code>${esc(p.name)}</code> (${esc(p.in)})`).join(", ")}</p>` : "") +
        (bodyName ? `<p>body <code>${esc(bodyName)}</code></p><pre>${esc(JSON.stringify(schemas[bodyName] || op.requestBody, null, 1))}</pre>` : "") +
        `</details>`;
    }
  }
  document.getElementById("ref").innerHTML = html;
})();
