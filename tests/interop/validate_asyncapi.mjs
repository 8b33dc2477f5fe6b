// Validates an AsyncAPI document with the official parser (@asyncapi/parser): prints its
// diagnostics as JSON lines and exits 1 on any of error severity (0).
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(process.argv[2], "utf8"));
for (const d of diagnostics) {
  console.log(JSON.stringify({ code: d.code, severity: d.severity, message: d.message, path: d.path }));
}
process.exit(document !== undefined && !diagnostics.some((d) => d.severity === 0) ? 0 : 1);
