import { Contact } from '@wa-sync/shared/contracts';
import { z } from 'zod';
import { named } from '../openapi/schema.names';
import { ChatsQuery } from './chat.schemas';

named('Contact', Contact);

export const ContactsQuery = ChatsQuery;

export const ContactPage = named('ContactPage', z.object({ contacts: z.array(Contact), nextCursor: z.string().nullable() }));
