// Builds the chat demo into the three files the chat binary embeds (its --web listener):
// chat.js (main.ts and the client, bundled), index.html and style.css. The output is the
// same bytes for the same sources: esbuild's output carries no time or path, and nothing
// here adds one.
//
// Output directory: the first argument, else DEMO_OUT, else demo/dist beside this file.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? process.env.DEMO_OUT ?? join(here, "dist"));

await mkdir(out, { recursive: true });

// Written only where the bytes change: the chat binary embeds these files, and a file
// rewritten with the same bytes would still make cargo build it again.
async function keep(path, bytes) {
  const old = await readFile(path).catch(() => null);
  if (old === null || Buffer.compare(old, Buffer.from(bytes)) !== 0) {
    await writeFile(path, bytes);
  }
}

const script = await esbuild.build({
  entryPoints: [join(here, "main.ts")],
  outfile: join(out, "chat.js"),
  write: false,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  charset: "utf8",
  legalComments: "eof",
  banner: { js: "/*! Darkstar for Rust chat demo. */" },
  logLevel: "warning",
  absWorkingDir: here,
});
for (const file of script.outputFiles) {
  await keep(file.path, file.contents);
}
for (const name of ["index.html", "style.css"]) {
  await keep(join(out, name), await readFile(join(here, name)));
}
console.log(`chat demo built into ${out}`);
