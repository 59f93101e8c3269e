// Builds the dashboard into the three files the server embeds: index.html, dashboard.js
// (the TypeScript and uPlot, bundled) and dashboard.css (uPlot's styles and the page's).
// The output is the same bytes for the same sources: esbuild's output carries no time or
// path, and nothing here adds one.
//
// Output directory: the first argument, else DASHBOARD_OUT, else the server's asset
// directory, darkstar-runtime/src/admin/assets.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? process.env.DASHBOARD_OUT ?? join(here, "../../darkstar-runtime/src/admin/assets"));

await mkdir(out, { recursive: true });
// uPlot's notice, which minifying would drop, from its package (so it follows upgrades).
const uplot = JSON.parse(await readFile(join(here, "node_modules/uplot/package.json"), "utf8"));
const notice = `/*! Darkstar for Rust dashboard. Bundles uPlot ${uplot.version}, copyright (c) 2025 Leon Sorokin, ${uplot.license} License. */`;
const common = {
  banner: { js: notice, css: notice },
  bundle: true,
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
  absWorkingDir: here,
};
// Written only where the bytes change: the server embeds these files, and a file rewritten
// with the same bytes would still make cargo build the server again.
async function keep(path, bytes) {
  const old = await readFile(path).catch(() => null);
  if (old === null || Buffer.compare(old, Buffer.from(bytes)) !== 0) {
    await writeFile(path, bytes);
  }
}

const scripts = await esbuild.build({
  ...common,
  write: false,
  entryPoints: [join(here, "src/main.ts")],
  outfile: join(out, "dashboard.js"),
  format: "esm",
  target: "es2022",
  platform: "browser",
});
const styles = await esbuild.build({
  ...common,
  write: false,
  entryPoints: [join(here, "src/dashboard.css")],
  outfile: join(out, "dashboard.css"),
  target: "chrome100",
});
for (const file of [...scripts.outputFiles, ...styles.outputFiles]) {
  await keep(file.path, file.contents);
}
await keep(join(out, "index.html"), await readFile(join(here, "src/index.html")));
console.log(`dashboard built into ${out}`);
