import type { Message } from '@wa-sync/shared/contracts';
import type { MessageViewDeps } from './message.view';

/**
 * The stored files a session's open chat shows, fetched once each with the key (a plain `src`
 * could not carry it): players and links get `blob:` object URLs (revoked on dispose); images get
 * `data:` URLs, which the dashboard's CSP allows for images (`img-src 'self' data:`).
 */
export class MediaFiles implements MessageViewDeps {
  private readonly objects = new Map<string, Promise<string>>();
  private readonly images = new Map<string, Promise<string>>();

  constructor(private readonly fetchFile: (m: Message) => Promise<Blob>) {}

  mediaUrl(m: Message): Promise<string> {
    return this.once(this.objects, m, (blob) => Promise.resolve(URL.createObjectURL(blob)));
  }

  imageUrl(m: Message): Promise<string> {
    return this.once(this.images, m, (blob) => new Promise<string>((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    }));
  }

  dispose(): void {
    for (const url of this.objects.values()) void url.then((u) => URL.revokeObjectURL(u), () => undefined);
    this.objects.clear();
    this.images.clear();
  }

  private once(cache: Map<string, Promise<string>>, m: Message, make: (blob: Blob) => Promise<string>): Promise<string> {
    let url = cache.get(m.id);
    if (!url) {
      url = this.fetchFile(m).then(make);
      // A failed fetch is tried again the next time the message is drawn.
      url.catch(() => cache.delete(m.id));
      cache.set(m.id, url);
    }
    return url;
  }
}
