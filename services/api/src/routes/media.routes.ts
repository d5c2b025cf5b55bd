import type { Readable } from 'node:stream';
import type { MediaDescriptor } from '@wa-sync/shared/contracts';
import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';
import { routeSchema } from '../openapi/openapi.registry';
import { SessionParams } from './common.schemas';
import { contentDisposition, etagOf, noneMatch, parseRange } from './media.http';
import { MediaCountsView, MediaParams, MediaQuery } from './media.schemas';

const tags = ['media'];
const BINARY = { schema: { type: 'string', format: 'binary' } };

/**
 * A message's file from the blob store, streamed (never read whole into memory), and the media
 * counts of a session. In the session scope; `read` access, and `?token=` works, so a browser can
 * use the URL in an `<img>` or `<audio>`.
 */
export const mediaRoutes: ApiPlugin = async (app) => {
  const { deps } = app;

  app.get(
    '/whatsapp-web/session/:id/chats/:chatId/messages/:messageId/media',
    {
      config: { access: 'read', queryToken: true },
      schema: routeSchema({
        tags,
        operationId: 'getMessageMedia',
        summary: "A message's file, with Range and If-None-Match",
        description:
          'The bytes of a `stored` media, with `Content-Type` (the media mimetype), `Content-Length`, `ETag` (the SHA-256), ' +
          '`Content-Disposition` (its file name), `Accept-Ranges: bytes`; one `Range` gives a 206, a matching `If-None-Match` a 304. ' +
          'Any other status answers 404 `media_not_stored` naming it. `?token=` works as well as `Authorization: Bearer`.',
        params: MediaParams,
        querystring: MediaQuery,
        responses: {
          200: { description: 'The whole file', content: { 'application/octet-stream': BINARY } },
          206: { description: 'The requested byte range (`Content-Range`)', content: { 'application/octet-stream': BINARY } },
          304: { description: 'Not modified: `If-None-Match` names this file', empty: true },
        },
        errors: [400, 404, 416, 503],
      }),
    },
    async (req, reply) => {
      const { id, chatId, messageId } = req.params;
      const message = await deps.store.getMessage(id, chatId, messageId);
      if (!message) throw new ApiError(404, 'message_not_found', `message ${messageId} of chat ${chatId} is not stored`);
      const media = message.media;
      if (!media || media.status !== 'stored' || !media.sha256) throw notStored(messageId, media);
      const blobs = deps.blobs;
      if (!blobs) throw new ApiError(503, 'blob_store_unavailable', 'this API has no blob store configured (MEDIA_URL)');
      const stat = await blobs.stat(media.sha256).catch((err: Error) => {
        throw new ApiError(503, 'blob_store_unavailable', `the blob store cannot be reached: ${err.message}`);
      });
      if (!stat) throw new ApiError(404, 'media_not_stored', `the file of message ${messageId} is missing from the blob store`);
      const mimetype = media.mimetype ?? 'application/octet-stream';
      reply
        .header('etag', etagOf(stat.sha256))
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, max-age=86400')
        .header('content-disposition', contentDisposition(media.filename, mimetype, stat.sha256))
        // The type comes from WhatsApp: never let a browser run it as a page of this origin.
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('x-content-type-options', 'nosniff');
      if (noneMatch(req.headers['if-none-match'], stat.sha256)) return reply.code(304).send();
      const range = parseRange(req.headers.range, stat.size);
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${stat.size}`);
        throw new ApiError(416, 'range_not_satisfiable', `the file has ${stat.size} bytes; the range ${req.headers.range} is outside it`);
      }
      const part = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
      let body: Readable;
      try {
        body = await blobs.getStream(stat.sha256, part);
      } catch (err) {
        throw new ApiError(503, 'blob_store_unavailable', `the blob store cannot be reached: ${(err as Error).message}`);
      }
      if (part) reply.code(206).header('content-range', `bytes ${part.start}-${part.end}/${stat.size}`);
      return reply
        .type(mimetype)
        .header('content-length', String(part ? part.end - part.start + 1 : stat.size))
        .send(body);
    },
  );

  app.get(
    '/whatsapp-web/session/:id/media',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags,
        operationId: 'getMediaCounts',
        summary: "The session's media by status, and the bytes stored",
        params: SessionParams,
        responses: { 200: { description: 'Counts by status', schema: MediaCountsView } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => deps.store.mediaCounts(req.params.id),
  );
};

function notStored(messageId: string, media: MediaDescriptor | null | undefined): ApiError {
  if (!media) return new ApiError(404, 'media_not_stored', `message ${messageId} has no media`);
  const why = media.error ? ` (${media.error})` : '';
  return new ApiError(404, 'media_not_stored', `the media of message ${messageId} is ${media.status}${why}, not stored`);
}
