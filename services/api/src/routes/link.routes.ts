import { setTimeout as sleep } from 'node:timers/promises';
import { Job } from 'bullmq';
import type { FastifyRequest } from 'fastify';
import { JobProducer, Keys, PairingCodeResult, QueueName } from '@wa-sync/shared/contracts';
import type { ApiDeps } from '../api.deps';
import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';
import { jsonSchema, routeSchema } from '../openapi/openapi.registry';
import { PairingCodeBody, PairingCodeView, QrView, SessionParams } from './link.schemas';

const tags = ['sessions'];
const DATA_URL = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/;
/** How often the API looks for the runner's answer to a pairing-code job. */
const POLL_MS = 100;

/**
 * Linking a phone: the current QR over HTTP (for clients without a WebSocket), and a pairing
 * code instead of the QR, asked of the runner that holds the session's client.
 */
export const linkRoutes: ApiPlugin = async (app) => {
  const { deps } = app;
  const pairingTimeoutMs = deps.pairingTimeoutMs ?? 30_000;

  app.get(
    '/whatsapp-web/session/:id/qr',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags,
        summary: 'The current QR: a PNG when the client accepts image/png, else JSON',
        description: 'Only while the session waits for a phone to link (status `qr`); the QR changes every ~20 s, as on WhatsApp Web.',
        params: SessionParams,
        responses: {
          200: {
            description: 'The QR, as `image/png` or as `{ qr, qrDataUrl }` (`Accept: application/json`)',
            content: {
              'image/png': { schema: { type: 'string', format: 'binary' } },
              'application/json': { schema: jsonSchema(QrView, 'output') },
            },
          },
        },
        errors: [400, 404, 503],
      }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const { session } = req;
      const live = await deps.redis.hgetall(Keys.sessionLive(id));
      if (session.status !== 'qr' || !live.qr || !live.qrDataUrl) {
        throw new ApiError(404, 'qr_not_found', `session ${id} shows no QR (status ${session.status})`);
      }
      reply.header('cache-control', 'no-store').header('vary', 'accept');
      const png = DATA_URL.exec(live.qrDataUrl);
      if (png && prefersPng(req)) return reply.type('image/png').send(Buffer.from(png[1], 'base64'));
      return reply.type('application/json').send({ qr: live.qr, qrDataUrl: live.qrDataUrl });
    },
  );

  app.post(
    '/whatsapp-web/session/:id/pairing-code',
    {
      config: { access: 'control' },
      schema: routeSchema({
        tags,
        summary: 'Link by phone number: a code to type on the phone instead of scanning the QR',
        description:
          'While the session shows a QR (status `qr`). The phone gets a notification; the code goes in WhatsApp → Linked devices → ' +
          'Link with phone number. The webjs engine calls whatsapp-web.js `requestPairingCode`; the simulated one answers a fixed ' +
          'code per phone number and links SIM_AUTO_SCAN_MS later.',
        params: SessionParams,
        body: PairingCodeBody,
        responses: { 200: { description: 'The code', schema: PairingCodeView } },
        errors: [400, 404, 409, 503],
      }),
    },
    async (req) => {
      const { id } = req.params;
      const { phoneNumber } = req.body;
      const { session } = req;
      if (session.status !== 'qr') throw notLinking(id, `status ${session.status}`);
      const result = await askRunner(deps, id, phoneNumber, pairingTimeoutMs);
      if ('code' in result) return { code: result.code };
      if (result.error === 'unsupported') throw new ApiError(409, 'pairing_unsupported', result.message);
      throw notLinking(id, result.message);
    },
  );
};

function notLinking(sessionId: string, why: string): ApiError {
  return new ApiError(409, 'not_linking', `session ${sessionId} is not waiting for a link (${why}); pairing codes are for sessions showing a QR`);
}

/**
 * A command on `session-commands`, which the runners route to the session's owner (the runner
 * holding its client); the answer is its (small) return value. Polled rather than awaited through QueueEvents: no
 * blocking connection per request, and nothing is missed if the job finished before we looked.
 */
async function askRunner(deps: ApiDeps, sessionId: string, phoneNumber: string, timeoutMs: number): Promise<PairingCodeResult> {
  const queue = deps.commands;
  const job = await new JobProducer(QueueName.sessionCommands, queue).add('pairing-code', { sessionId, phoneNumber }, {
    // The code is short-lived; Bull Board needs no copy of it for long.
    removeOnComplete: { age: 60 },
    removeOnFail: { age: 3600 },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const current = await Job.fromId(queue, job.id!);
    if (!current) break;
    if (current.failedReason && current.finishedOn) throw new ApiError(503, 'pairing_failed', `WhatsApp gave no pairing code: ${current.failedReason}`);
    if (current.finishedOn) {
      const parsed = PairingCodeResult.safeParse(current.returnvalue);
      if (parsed.success) return parsed.data;
      throw new ApiError(503, 'pairing_failed', 'the session runner answered something that is not a pairing code');
    }
  }
  // Nobody took it (no runner holds the session, or it is busy): it must not run later for nobody.
  await job.remove().catch(() => undefined);
  throw new ApiError(503, 'runner_unavailable', `no session runner answered within ${timeoutMs} ms; retry`);
}

/**
 * Content negotiation between the two forms: the Accept range that matches each most
 * specifically gives its q; the higher q wins, then the more specific match, then PNG.
 * No Accept header, or any of the forms allowed equally (`*\/*`), is the PNG.
 */
export function prefersPng(req: Pick<FastifyRequest, 'headers'>): boolean {
  const accept = req.headers.accept;
  if (!accept) return true;
  const ranges = accept.split(',').map((part) => {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const qv = q ? Number(q.slice(2)) : 1;
    return { range: range.trim(), q: Number.isFinite(qv) ? qv : 0 };
  });
  const score = (type: string): [number, number] => {
    const [major] = type.split('/');
    let best: [number, number] = [0, -1];
    for (const r of ranges) {
      const specificity = r.range === type ? 2 : r.range === `${major}/*` ? 1 : r.range === '*/*' ? 0 : -1;
      if (specificity > best[1]) best = [r.q, specificity];
    }
    return best;
  };
  const [pq, ps] = score('image/png');
  const [jq, js] = score('application/json');
  if (pq <= 0) return false;
  return pq > jq || (pq === jq && ps >= js);
}
