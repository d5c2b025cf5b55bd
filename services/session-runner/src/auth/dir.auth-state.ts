import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthState } from './auth-state.interface';

/**
 * Auth blobs as files of one directory (WA_AUTH_DIR: this host, or a volume every runner mounts).
 * A save writes a temporary file, fsyncs it and renames it over the old one: a runner killed
 * mid-save leaves the old blob, never half of the new one.
 */
export class DirAuthState implements AuthState {
  readonly kind = 'dir' as const;

  constructor(
    private readonly dir: string,
    private readonly fileName: (sessionId: string) => string = (id) => `auth-${id}.bin`,
  ) {}

  private file(sessionId: string): string {
    return join(this.dir, this.fileName(sessionId));
  }

  async load(sessionId: string): Promise<Buffer | null> {
    return readFile(this.file(sessionId)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
  }

  async save(sessionId: string, data: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.file(sessionId);
    const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async remove(sessionId: string): Promise<void> {
    await rm(this.file(sessionId), { force: true });
  }
}
