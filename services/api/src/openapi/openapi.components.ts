import type { z } from 'zod';
import { namedSchemas } from './schema.names';

type Json = Record<string, unknown>;

/** Key-order-independent text of a schema, without the annotations a route adds at its root. */
function canonical(node: unknown, root = true): string {
  if (Array.isArray(node)) return `[${node.map((n) => canonical(n, false)).join(',')}]`;
  if (node === null || typeof node !== 'object') return JSON.stringify(node);
  const keys = Object.keys(node).filter((k) => !(root && k === 'description')).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((node as Json)[k], false)}`).join(',')}}`;
}

/** Replaces, below `node`, every subtree equal to a named schema by a `$ref` to it. */
function refIn(node: unknown, names: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => refIn(n, names));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = refTo(value, names) ?? refIn(value, names);
  }
  return out;
}

/** A `$ref` for a named schema, or for a nullable one (`nullable` beside a `$ref` is ignored in 3.0: allOf). */
function refTo(value: unknown, names: Map<string, string>): Json | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const name = names.get(canonical(value));
  if (name) return { $ref: `#/components/schemas/${name}` };
  const { nullable, ...rest } = value as Json;
  const nullableName = nullable === true ? names.get(canonical(rest)) : undefined;
  return nullableName ? { type: rest.type, nullable: true, allOf: [{ $ref: `#/components/schemas/${nullableName}` }] } : undefined;
}

/**
 * The document's finishing touches: named component schemas referenced from every operation, and a
 * request body whose schema requires nothing is optional (`sync-chats` takes none: an empty POST is `{}`).
 */
export function finishDocument(doc: Json, toJsonSchema: (schema: z.ZodType, io: 'input' | 'output') => Json): Json {
  const schemas: Json = {};
  const names = new Map<string, string>();
  // Schemas named in `components.schemas` (see `named`): every inline copy in an operation becomes a `$ref`.
  for (const [name, { schema, io }] of namedSchemas()) {
    const json = toJsonSchema(schema, io);
    schemas[name] = json;
    names.set(canonical(json), name);
  }
  // Named schemas refer to each other too (ChatPage → Chat), but never to themselves.
  for (const [name, json] of Object.entries(schemas)) schemas[name] = refIn(json, names);
  const paths = refIn(doc.paths, names) as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      const body = operation?.requestBody as { required?: boolean; content?: Record<string, { schema?: Json }> } | undefined;
      const schema = body?.content?.['application/json']?.schema;
      if (body && schema) {
        const target = schema.$ref ? (schemas[String(schema.$ref).split('/').pop()!] as Json) : schema;
        if (!Array.isArray(target?.required) || target.required.length === 0) body.required = false;
      }
    }
  }
  const components = (doc.components ?? {}) as Json;
  return { ...doc, paths, components: { ...components, schemas: { ...((components.schemas as Json) ?? {}), ...schemas } } };
}

/** `GET /whatsapp-web/session/:id/chats` → `getSessionChats`, for routes that name no operationId. */
export function defaultOperationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((part) => part && part !== 'whatsapp-web' && !part.startsWith(':'))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0].toUpperCase() + w.slice(1))].join('');
}
