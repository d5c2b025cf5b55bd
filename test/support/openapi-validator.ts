import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface OpenApiValidation {
  valid: boolean;
  version: string;
  errors: unknown;
}

/** Runs @seriousme/openapi-schema-validator on a document (in a child process: the package is ESM only). */
export function validateOpenApi(document: unknown): Promise<OpenApiValidation> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'validate-openapi.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`validator exited with ${code}: ${err}`));
      resolve(JSON.parse(out) as OpenApiValidation);
    });
    child.stdin.end(JSON.stringify(document));
  });
}
