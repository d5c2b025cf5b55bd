import type { Session } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import type { ApiPlugin } from '../app.types';
import { ApiError } from '../error.handler';

/** Every route of the scope is under this path. */
export const SESSION_PREFIX = '/whatsapp-web/session/:id';

export async function requireSession(store: Store, sessionId: string): Promise<Session> {
  const session = await store.getSession(sessionId);
  if (!session) throw new ApiError(404, 'session_not_found', `session ${sessionId} does not exist`);
  return session;
}

/**
 * The routes of one existing session (everything under `/whatsapp-web/session/:id` but its
 * creation and its event stream): a preHandler loads the session into `req.session`, or answers
 * 404 `session_not_found`. It runs after the access check (onRequest), so a token for another
 * session gets a 403 and never learns whether this one exists.
 */
export function sessionScope(...plugins: ApiPlugin[]): ApiPlugin {
  return async (scope) => {
    scope.decorateRequest('session', null as never);
    scope.addHook('onRoute', (route) => {
      if (route.url !== SESSION_PREFIX && !route.url.startsWith(`${SESSION_PREFIX}/`)) {
        throw new Error(`${route.method} ${route.url} is in the session scope but not under ${SESSION_PREFIX}`);
      }
    });
    scope.addHook('preHandler', async (req) => {
      req.session = await requireSession(scope.deps.store, (req.params as { id: string }).id);
    });
    for (const plugin of plugins) await scope.register(plugin);
  };
}
