/**
 * The HTTP details of serving a stored file: byte ranges, entity tags, the download name. Pure
 * functions of the request's headers and the file, kept apart from the route so they are tested
 * on their own.
 */

/** An inclusive range of a file of `size` bytes, or why none applies. */
export type RangeAnswer = { kind: 'whole' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * `Range: bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes). A header that is not one
 * byte range (several ranges, another unit, garbage) is ignored and the whole file served, as
 * RFC 9110 allows; a range starting past the end is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (!header) return { kind: 'whole' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return { kind: 'unsatisfiable' };
  if (end < start) return { kind: 'whole' };
  return { kind: 'partial', start, end };
}

/** The file's strong entity tag: its SHA-256, quoted. */
export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

/** `If-None-Match` names this file (a list, weak tags and `*` included). */
export function noneMatch(header: string | undefined, sha256: string): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const tag = raw.trim().replace(/^W\//, '');
    return tag === '*' || tag === etagOf(sha256) || tag === sha256;
  });
}

/** Types a browser may show in the page; anything else (HTML, SVG, scripts…) is only ever downloaded. */
const INLINE = /^(image\/(png|jpeg|gif|webp)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|application\/pdf)$/;
const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'application/pdf': 'pdf',
};

/**
 * `Content-Disposition`: `inline` for media a browser shows, `attachment` otherwise, with the
 * file's name (or one made from the type and the hash) as plain ASCII and as RFC 8187 UTF-8.
 */
export function contentDisposition(filename: string | null, mimetype: string, sha256: string): string {
  const base = mimetype.split(';')[0].trim().toLowerCase();
  const name = filename?.trim() || `${base.split('/')[0] || 'file'}-${sha256.slice(0, 12)}.${EXTENSIONS[base] ?? 'bin'}`;
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${INLINE.test(base) ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
