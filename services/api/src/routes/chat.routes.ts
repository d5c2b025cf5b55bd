import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';
import { routeSchema } from '../openapi/openapi.registry';
import { ChatPage, ChatsQuery, MessagePage, MessagesParams, MessagesQuery, SessionParams } from './chat.schemas';

const tags = ['chats'];

/** Reads of the store only: listing never triggers a sync. In the session scope. */
export const chatRoutes: ApiPlugin = async (app) => {
  const { deps } = app;

  app.get(
    '/whatsapp-web/session/:id/chats',
    {
      config: { access: 'read' },
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
      const page = await deps.store.listChats(req.params.id, req.query);
      return { chats: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/whatsapp-web/session/:id/chats/:chatId/messages',
    {
      config: { access: 'read' },
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
      const { id, chatId } = req.params;
      if (!(await deps.store.getChat(id, chatId))) {
        throw new ApiError(404, 'chat_not_found', `chat ${chatId} of session ${id} is not stored`);
      }
      const page = await deps.store.listMessages(id, chatId, req.query);
      return { messages: page.items, nextCursor: page.nextCursor };
    },
  );
};
