import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api.deps';
import { ApiError, parseRequest } from '../error.handler';
import { routeSchema } from '../openapi.registry';
import { ChatPage, ChatsQuery, MessagePage, MessagesParams, MessagesQuery, SessionParams } from './chat.schemas';
import { requireSession } from './session.routes';

const tags = ['chats'];

/** Reads of the store only: listing never triggers a sync. */
export async function chatRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/whatsapp-web/session/:id/chats',
    {
      schema: routeSchema({
        tags,
        operationId: 'listChats',
        summary: 'Stored chats, newest activity first (never triggers a sync)',
        params: SessionParams,
        querystring: ChatsQuery,
        responses: { 200: { description: 'A page of chats; `nextCursor: null` on the last page', schema: ChatPage } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => {
      const { id } = parseRequest(SessionParams, req.params, 'params');
      const query = parseRequest(ChatsQuery, req.query, 'query');
      await requireSession(deps, id);
      const page = await deps.store.listChats(id, query);
      return { chats: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/whatsapp-web/session/:id/chats/:chatId/messages',
    {
      schema: routeSchema({
        tags,
        operationId: 'listMessages',
        summary: 'Stored messages of a chat, newest first',
        params: MessagesParams,
        querystring: MessagesQuery,
        responses: { 200: { description: 'A page of messages; `nextCursor: null` on the last page', schema: MessagePage } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => {
      const { id, chatId } = parseRequest(MessagesParams, req.params, 'params');
      const query = parseRequest(MessagesQuery, req.query, 'query');
      await requireSession(deps, id);
      if (!(await deps.store.getChat(id, chatId))) {
        throw new ApiError(404, 'chat_not_found', `chat ${chatId} of session ${id} is not stored`);
      }
      const page = await deps.store.listMessages(id, chatId, query);
      return { messages: page.items, nextCursor: page.nextCursor };
    },
  );
}
