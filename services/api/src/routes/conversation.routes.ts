import { Chat } from '@wa-sync/shared/contracts';
import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';
import { routeSchema } from '../openapi/openapi.registry';
import { MessagesParams, SessionParams } from './chat.schemas';
import { ContactPage, ContactsQuery } from './conversation.schemas';

const tags = ['chats'];

/** Contacts and one chat with its group members (DESIGN "Full conversations"). In the session scope. */
export const conversationRoutes: ApiPlugin = async (app) => {
  const { deps } = app;

  app.get(
    '/whatsapp-web/session/:id/contacts',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags,
        operationId: 'listContacts',
        summary: 'The account\'s contacts by id (saved name, pushname, number), as of the last sync',
        params: SessionParams,
        querystring: ContactsQuery,
        responses: { 200: { description: 'A page of contacts; `nextCursor: null` on the last page', schema: ContactPage } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => {
      const page = await deps.store.listContacts(req.params.id, req.query);
      return { contacts: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/whatsapp-web/session/:id/chats/:chatId',
    {
      config: { access: 'read' },
      schema: routeSchema({
        tags,
        operationId: 'getChat',
        summary: 'One stored chat; a group with its participants',
        params: MessagesParams,
        responses: { 200: { description: 'The chat (`participants` for a group once a sync listed them)', schema: Chat } },
        errors: [400, 404, 503],
      }),
    },
    async (req) => {
      const { id, chatId } = req.params;
      const chat = await deps.store.getChat(id, chatId);
      if (!chat) throw new ApiError(404, 'chat_not_found', `chat ${chatId} of session ${id} is not stored`);
      return chat;
    },
  );
};
