import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);
/** Below this a compressed body saves less than the work costs. */
const MIN_BYTES = 1024;

type Encoding = 'br' | 'gzip' | null;

/** The best encoding the client accepts (`q=0` refuses one), brotli first. */
export function pickEncoding(header: string | undefined): Encoding {
  if (!header) return null;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const weight = (name: string) => accepted.get(name) ?? accepted.get('*') ?? 0;
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return null;
}

/**
 * Sends a JSON body, compressed with brotli or gzip when the client accepts it (there is no
 * @fastify/compress here; node:zlib on the thread pool does it without blocking the loop).
 */
export async function sendJson(req: FastifyRequest, reply: FastifyReply, body: unknown): Promise<FastifyReply> {
  const json = Buffer.from(JSON.stringify(body));
  reply.header('content-type', 'application/json; charset=utf-8').header('vary', 'accept-encoding');
  const encoding = json.length >= MIN_BYTES ? pickEncoding(req.headers['accept-encoding']) : null;
  if (!encoding) return reply.send(json);
  // Brotli 4 and gzip 5: most of the gain of the slow levels at a fraction of their time, for a body made per request.
  const compressed = encoding === 'br' ? await brotli(json, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: json.length } }) : await gz(json, { level: 5 });
  return reply.header('content-encoding', encoding).send(compressed);
}
