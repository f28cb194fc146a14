// Compiles every Vega-Lite spec in the JSON array file given as argv[2] with the official
// compiler; prints one JSON line per spec: {"ok": true, "marks": n} or {"ok": false, "error": "..."}.
import { readFileSync } from "node:fs";
import { compile } from "vega-lite";

const specs = JSON.parse(readFileSync(process.argv[2], "utf8"));
for (const spec of specs) {
  try {
    const out = compile(spec);
    console.log(JSON.stringify({ ok: true, marks: (out.spec.marks || []).length }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e.message || e) }));
  }
}
