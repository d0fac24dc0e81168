// Builds the Stash stand-in (harness.js + harness.css with bootstrap 4.6.2) into the folder
// given as the first argument, with the libraries of plugin/ui/node_modules (Stash's versions).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { copyFileSync } from "node:fs";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "..", "..", "..", "plugin", "ui", "node_modules");
const { build } = createRequire(join(modules, "x.js"))("esbuild");
const out = process.argv[2];

await build({
  entryPoints: [join(here, "harness.tsx")],
  bundle: true,
  format: "iife",
  target: "es2019",
  jsx: "transform",
  outfile: join(out, "harness.js"),
  nodePaths: [modules],
  define: { "process.env.NODE_ENV": '"development"' },
  logLevel: "warning",
});
copyFileSync(join(modules, "bootstrap", "dist", "css", "bootstrap.min.css"), join(out, "harness.css"));
copyFileSync(join(here, "index.html"), join(out, "index.html"));
