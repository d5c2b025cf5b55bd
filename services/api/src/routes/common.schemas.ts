import { SessionId } from '@wa-sync/shared/contracts';
import { z } from 'zod';

export { ErrorBody } from '../openapi/error.schemas';

export const SessionParams = z.object({ id: SessionId });
