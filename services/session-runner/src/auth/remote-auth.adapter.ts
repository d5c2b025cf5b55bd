import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthState } from './auth-state.interface';

/** whatsapp-web.js names a RemoteAuth session `RemoteAuth-<clientId>`; our clientId is the session id. */
const PREFIX = 'RemoteAuth-';

const sessionIdOf = (session: string) => (session.startsWith(PREFIX) ? session.slice(PREFIX.length) : session);

/**
 * The `store` whatsapp-web.js' RemoteAuth takes (`sessionExists/save/extract/delete`), on an
 * AuthState. RemoteAuth zips the profile to `<dataPath>/<session>.zip` before `save` and unzips
 * what `extract` writes at `path`: the zip is the session's auth blob.
 */
export class RemoteAuthStore {
  constructor(
    private readonly auth: AuthState,
    /** RemoteAuth's `dataPath` (WA_AUTH_DIR, resolved): where it leaves the zip for `save`. */
    private readonly dataPath: string,
  ) {}

  async sessionExists({ session }: { session: string }): Promise<boolean> {
    return (await this.auth.load(sessionIdOf(session))) !== null;
  }

  async save({ session }: { session: string }): Promise<void> {
    const zip = await readFile(join(this.dataPath, `${session}.zip`));
    await this.auth.save(sessionIdOf(session), zip);
  }

  async extract({ session, path }: { session: string; path: string }): Promise<void> {
    const zip = await this.auth.load(sessionIdOf(session));
    if (!zip) return;
    // Temp + rename: RemoteAuth never unzips half a file.
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, zip, { mode: 0o600 });
    await rename(temp, path).catch(async (err) => {
      await rm(temp, { force: true });
      throw err;
    });
  }

  async delete({ session }: { session: string }): Promise<void> {
    await this.auth.remove(sessionIdOf(session));
  }
}
