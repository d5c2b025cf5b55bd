import type { z } from 'zod';

export interface NamedSchema {
  schema: z.ZodType;
  io: 'input' | 'output';
}

const registry = new Map<string, NamedSchema>();

/**
 * Names a schema in the document's `components.schemas`, so generated clients get `Chat`,
 * `Message`… instead of anonymous inline types. A schema file declares and names in one line; the
 * document only reads this list, so it imports no route folder.
 */
export function named<T extends z.ZodType>(name: string, schema: T, io: 'input' | 'output' = 'output'): T {
  registry.set(name, { schema, io });
  return schema;
}

/** Every named schema, in the order the schema files were loaded. */
export function namedSchemas(): ReadonlyMap<string, NamedSchema> {
  return registry;
}
