import type { Contact } from '@wa-sync/shared/contracts';
import { mulberry32 as stream } from './simulated.random';
import { FIRST, LAST, PUSH_SUFFIXES } from './simulated.words';

function fnv(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

/**
 * A contact of the simulated account, a pure function of (seed, id): the chat list and the group
 * member lists are drawn elsewhere; this only adds what a phone knows of the person. A direct
 * chat's saved name is its chat name (null when WhatsApp shows the number); a group member is
 * saved half of the time. Pushnames are often set, sometimes empty: a member with neither shows
 * as their number, as in WhatsApp.
 */
export function simulatedContact(seed: number, id: string, saved: { name: string | null } | 'member'): Contact {
  const r = stream(fnv(id, (seed ^ 0x9e50c0de) >>> 0));
  const number = id.slice(0, id.indexOf('@'));
  let name: string | null;
  if (saved === 'member') name = r() < 0.5 ? `${pick(r, FIRST)} ${pick(r, LAST)}` : null;
  else name = saved.name;
  // Pushnames are what people type themselves: a first name, sometimes with an emoji.
  const pushname = r() < 0.7 ? `${name ? name.split(' ')[0] : pick(r, FIRST)}${pick(r, PUSH_SUFFIXES)}` : null;
  return { id, name, pushname, number, isBusiness: r() < 0.05, isMyContact: name !== null };
}

/** What WhatsApp shows as the sender: the saved name, else the pushname, else the number. */
export function displayName(contact: Contact): string {
  return contact.name ?? contact.pushname ?? contact.number ?? contact.id;
}
