// Builds the UI into dist/: one bundled, minified app.js (TypeScript compiled by esbuild;
// `npm run check` type-checks it with tsc), app.css (ours after Tabulator's and uPlot's) and
// index.html.
// svc-web embeds dist/ at compile time; run by scripts/ui-build, never by cargo.
import { build } from "esbuild";
import { mkdir, readFile, readdir, rm, writeFile, copyFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const out = new URL("./dist/", import.meta.url);
await mkdir(out, { recursive: true });
// The graphs' and the QR code's libraries are chunks of their own, loaded when a graph or
// a QR code is first shown: the first page view transfers only what every pane needs.
for (const f of await readdir(out)) if (f.startsWith("chunk-")) await rm(new URL(f, out));
await build({
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  splitting: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outdir: "dist",
  chunkNames: "chunk-[hash]",
  legalComments: "linked",
  logLevel: "warning",
});
const tabulatorCss = await readFile(require.resolve("tabulator-tables/dist/css/tabulator_simple.min.css"), "utf8");
const uplotCss = await readFile(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
const ours = await readFile(new URL("./style.css", import.meta.url), "utf8");
await writeFile(new URL("app.css", out), tabulatorCss + "\n" + uplotCss + "\n" + ours);
await copyFile(new URL("./index.html", import.meta.url), new URL("index.html", out));
console.log("ui built into", out.pathname);
