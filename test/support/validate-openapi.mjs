// Validates the OpenAPI document on stdin with @seriousme/openapi-schema-validator (ESM only,
// hence a separate process from Jest's CommonJS). Prints { valid, version, errors } as JSON.
import { Validator } from '@seriousme/openapi-schema-validator';

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(input));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null }));
