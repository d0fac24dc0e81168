// Builds dist/stashtag-ui.js and dist/stashtag-ui.css for Stash's plugin `ui:` section.
//
// React and the other libraries are not bundled: Stash's UI hands them to plugins through
// window.PluginApi (React 17.0.2, react-router-dom 5.3.4, react-bootstrap 1.6.8, Apollo 3.14),
// so each import of them resolves to that object. Stash concatenates a plugin's scripts into
// one response: the bundle is one IIFE that leaks no names. The output is deterministic (no
// timestamps, no absolute paths): `node build.mjs --check` fails when dist/ is not what the
// sources build to.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const GLOBALS = {
  react: "window.PluginApi.React",
  "react-dom": "window.PluginApi.ReactDOM",
  "react-router-dom": "window.PluginApi.libraries.ReactRouterDOM",
  "react-bootstrap": "window.PluginApi.libraries.Bootstrap",
  "@apollo/client": "window.PluginApi.libraries.Apollo",
};

const fromPluginApi = {
  name: "plugin-api",
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(GLOBALS).join("|")})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "plugin-api" }));
    b.onLoad({ filter: /.*/, namespace: "plugin-api" }, (args) => ({
      contents: `module.exports = ${GLOBALS[args.path]};`,
      loader: "js",
    }));
  },
};

const check = process.argv.includes("--check");
const result = await build({
  entryPoints: { "stashtag-ui": "src/index.tsx" },
  bundle: true,
  format: "iife",
  target: "es2019",
  jsx: "transform",
  jsxFactory: "React.createElement",
  jsxFragment: "React.Fragment",
  outdir: "dist",
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
  plugins: [fromPluginApi],
  write: !check,
});
if (check) {
  const stale = result.outputFiles.filter(
    (f) => readFileSync(f.path, "utf8") !== f.text,
  );
  if (stale.length) {
    console.error(`stale: ${stale.map((f) => f.path).join(", ")} (run: npm run build)`);
    process.exit(1);
  }
}
