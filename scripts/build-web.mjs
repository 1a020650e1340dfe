#!/usr/bin/env node
// Builds the dashboard (src/web) into dist/web: app.ts bundled by esbuild (no CDN, every
// dependency inside), plus the static files of src/web/public. Called by `npm run build`, by the
// quickstart and by the dashboard test; dm-master serves dist/web at /dashboard/.
import { build } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(root, 'dist', 'web');

export async function buildWeb(outDir = out) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, 'src/web/app.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    outfile: join(outDir, 'app.js'),
    logLevel: 'warning',
  });
  cpSync(join(root, 'src/web/public'), outDir, { recursive: true });
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`dashboard built in ${await buildWeb()}`);
}
