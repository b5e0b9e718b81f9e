// Validates an AsyncAPI document with the AsyncAPI parser: any error or warning fails.
//   node clients/check-asyncapi.mjs asyncapi.json
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) throw new Error("usage: check-asyncapi.mjs DOCUMENT.json");
const { document, diagnostics } = await new Parser().parse(await readFile(path, "utf8"));
for (const d of diagnostics) {
  console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code} at ${d.path.join(".")}: ${d.message}`);
}
const problems = diagnostics.filter((d) => d.severity <= 1);
if (document === undefined || problems.length > 0) process.exit(1);
console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.messages().length} messages`);
