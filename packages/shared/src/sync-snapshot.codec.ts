import type { z } from 'zod';
import { SyncSnapshot } from './domain.schemas';

/**
 * How a `SyncSnapshot` (the `sync_chats` event, the progress route) is kept in its Redis hash,
 * derived from the zod schema alone: the Lua scripts that announce progress, and the reader,
 * decode the hash with what is generated here, so a field added to the schema reaches all of them.
 * Numbers are stored as decimals, booleans as 1/0.
 */

type FieldKind = 'number' | 'boolean' | 'string';
export interface SnapshotField {
  name: keyof SyncSnapshot & string;
  kind: FieldKind;
  optional: boolean;
}

function kindOf(schema: z.ZodTypeAny): { kind: FieldKind; optional: boolean } {
  const type = schema.def.type;
  if (type === 'optional') return { kind: kindOf((schema as z.ZodOptional<z.ZodTypeAny>).unwrap()).kind, optional: true };
  if (type === 'number' || type === 'boolean') return { kind: type, optional: false };
  if (type === 'string' || type === 'enum') return { kind: 'string', optional: false };
  throw new Error(`SyncSnapshot field of type ${type} has no hash encoding`);
}

export const SNAPSHOT_FIELDS: readonly SnapshotField[] = Object.entries(SyncSnapshot.shape).map(([name, schema]) => ({
  name: name as SnapshotField['name'],
  ...kindOf(schema as z.ZodTypeAny),
}));

/** A field's name, checked against the schema: the scripts name the fields they move through this. */
export function snapshotField<K extends keyof SyncSnapshot & string>(name: K): K {
  return name;
}

/** The hash fields and values of a whole snapshot (for HSET). */
export function snapshotToHash(snapshot: SyncSnapshot): string[] {
  const out: string[] = [];
  for (const { name, kind } of SNAPSHOT_FIELDS) {
    const value = snapshot[name];
    if (value === undefined) continue;
    out.push(name, kind === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  return out;
}

/** The snapshot in a progress hash, parsed with the schema; null when the hash has none (or not a readable one). */
export function snapshotFromHash(hash: Record<string, string>): SyncSnapshot | null {
  if (!hash[snapshotField('syncId')]) return null;
  const raw: Record<string, unknown> = {};
  for (const { name, kind, optional } of SNAPSHOT_FIELDS) {
    const value = hash[name];
    if (value === undefined && optional) continue;
    raw[name] = kind === 'number' ? Number(value) : kind === 'boolean' ? value === '1' : value;
  }
  const parsed = SyncSnapshot.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * `wa_snapshot(key)`: the snapshot in the hash at `key` as a Lua table, ready for `cjson.encode`.
 * A field the hash lacks is left out (optional) or `false` (required: the event then fails its
 * schema where it is read, loudly, instead of carrying a made-up value).
 */
export const SNAPSHOT_LUA_FN = `
local function wa_snapshot(key)
  local h = redis.call('HMGET', key, ${SNAPSHOT_FIELDS.map((f) => `'${f.name}'`).join(', ')})
  local data = {}
${SNAPSHOT_FIELDS.map((f, i) => {
  const v = `h[${i + 1}]`;
  const decoded = f.kind === 'number' ? `tonumber(${v})` : f.kind === 'boolean' ? `${v} == '1'` : v;
  return f.optional ? `  if ${v} then data['${f.name}'] = ${decoded} end` : `  data['${f.name}'] = ${v} and ${decoded} or false`;
}).join('\n')}
  return data
end
`;
