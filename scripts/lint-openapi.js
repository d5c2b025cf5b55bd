#!/usr/bin/env node
// Writes the API's OpenAPI document (as /docs/json serves it) to a temporary file and lints it with
// Redocly's recommended rules: errors fail, warnings are printed. Run after `npm run build`.
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

async function main() {
  const { buildOpenApiDocument } = require('../services/api/dist/openapi.document.js');
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(await buildOpenApiDocument(), null, 2));
    const bin = join(__dirname, '..', 'node_modules', '.bin', 'redocly');
    const result = spawnSync(bin, ['lint', file], {
      stdio: 'inherit',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    return result.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
