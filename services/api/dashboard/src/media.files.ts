import type { Message } from '@wa-sync/shared/contracts';
import type { MessageViewDeps } from './message.view';

/**
 * The stored files a session's open chat shows, fetched once each with the credential (a plain
 * `src` could not carry it) and shown from `blob:` object URLs, revoked on dispose. The CSP allows
 * `blob:` for images and media; a file is never copied into the page as a `data:` URL.
 */
export class MediaFiles implements MessageViewDeps {
  private readonly objects = new Map<string, Promise<string>>();

  constructor(private readonly fetchFile: (m: Message) => Promise<Blob>) {}

  mediaUrl(m: Message): Promise<string> {
    let url = this.objects.get(m.id);
    if (!url) {
      url = this.fetchFile(m).then((blob) => URL.createObjectURL(blob));
      // A failed fetch is tried again the next time the message is drawn.
      url.catch(() => this.objects.delete(m.id));
      this.objects.set(m.id, url);
    }
    return url;
  }

  dispose(): void {
    for (const url of this.objects.values()) void url.then((u) => URL.revokeObjectURL(u), () => undefined);
    this.objects.clear();
  }
}
