import type { ApiPlugin } from '../app.types';
import { routeSchema } from '../openapi/openapi.registry';
import { sendJson } from './json.compress';
import { RecentHistory, RecentQuery, SessionParams } from './recent.schemas';

/** `GET …/messages/recent`: the desktop bootstrap as one JSON document (seed 000). In the session scope. */
export const recentRoutes: ApiPlugin = async (app) => {
  const { deps } = app;
  app.get(
    '/whatsapp-web/session/:id/messages/recent',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags: ['chats'],
        summary: 'Recent history: per chat active in the last `days`, its last `limit` messages (seed 000 shape)',
        description: 'Newest conversation first, messages oldest first. Compressed with br or gzip when `Accept-Encoding` allows.',
        params: SessionParams,
        querystring: RecentQuery,
        responses: { 200: { description: 'Conversations with their recent messages', schema: RecentHistory } },
        errors: [400, 404, 503],
      }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const { days, limit } = req.query;
      const history = await deps.store.recentHistory(id, { days, limitPerChat: limit });
      let messageCount = 0;
      const conversations = history.map((h) => {
        messageCount += h.messages.length;
        return { conversationId: h.chatId, messages: h.messages.slice().reverse(), lastMessageAt: h.lastMessageAt };
      });
      const body: RecentHistory = { success: true, conversations, count: conversations.length, messageCount };
      return sendJson(req, reply, body);
    },
  );
};
