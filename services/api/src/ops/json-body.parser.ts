import type { FastifyInstance } from 'fastify';

/** Deeper bodies are refused before JSON.parse: nothing the API takes nests more than a few levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a JSON text nests arrays/objects deeper than `max`, by one pass over its characters
 * (strings skipped): about a millisecond for a megabyte, where JSON.parse of a deeply nested
 * megabyte held the event loop for 0.4 s.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function badBody(code: string, message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400, code });
}

/**
 * `application/json` bodies: an empty one is `{}` (sync-chats takes an optional body), malformed
 * JSON or one nested deeper than MAX_JSON_DEPTH is a 400.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text === '') return done(null, {});
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return done(badBody('JSON_TOO_DEEP', `body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(badBody('BAD_JSON', 'body is not valid JSON'), undefined);
    }
  });
}
