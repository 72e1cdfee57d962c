#!/usr/bin/env node
// Bundles the dashboard (daemon/web) into daemon/dist/web: index.html, app.js and app.css, all the
// page loads (no outside assets; the CSP allows only 'self'). Run after `tsc -b` by the root
// scripts (prepare, build, start, test); tsc type-checks daemon/web, esbuild only bundles it.
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const daemonDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(daemonDir, 'dist/web')
await mkdir(outDir, { recursive: true })
await build({
  entryPoints: { app: join(daemonDir, 'web/src/main.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: outDir,
  legalComments: 'none',
  logLevel: 'warning',
})
await copyFile(join(daemonDir, 'web/index.html'), join(outDir, 'index.html'))
