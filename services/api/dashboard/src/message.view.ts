import type { MediaDescriptor, Message } from '@wa-sync/shared/contracts';
import { h } from './dom.helpers';
import { bytes, ticks, when } from './format.helpers';

/**
 * One message bubble as WhatsApp shows it: the sender's name in groups, the quoted message above
 * a reply, the file (image and sticker drawn, voice and audio in a player, documents and videos
 * as links with name and size; what is not stored says why), reactions under the bubble.
 * Files are fetched with the key (a plain `src` could not carry it).
 */
export interface MessageViewDeps {
  /** An object URL of the stored file (fetched with the credential), for images, players and links; rejects when it cannot be had. */
  mediaUrl(m: Message): Promise<string>;
}

const MEDIA_LABEL: Record<string, string> = { image: '🖼️ Photo', sticker: 'Sticker', ptt: '🎤 Voice message', audio: '🎵 Audio', video: '🎬 Video', document: '📄 Document' };

export function messageItem(m: Message, isGroup: boolean, deps: MessageViewDeps): HTMLLIElement {
  const sender = !m.fromMe && (isGroup || m.author) ? (m.senderName ?? m.author) : null;
  return h(
    'li',
    { class: `message ${m.fromMe ? 'mine' : 'theirs'}`, 'data-message-id': m.id },
    sender ? h('span', { class: 'author small' }, sender) : null,
    m.isForwarded ? h('span', { class: 'forwarded small muted' }, '↪ Forwarded') : null,
    m.quoted && !m.revoked
      ? h(
          'blockquote',
          { class: 'quote small', 'data-quoted-id': m.quoted.id },
          h('span', { class: 'quote-author' }, m.quoted.fromMe ? 'You' : (m.quoted.author ?? 'Them')),
          h('span', { class: 'quote-body' }, m.quoted.body || `[${m.quoted.type}]`),
        )
      : null,
    m.revoked ? null : media(m, deps),
    h('span', { class: 'body' }, m.revoked ? '🚫 deleted' : body(m)),
    m.revoked ? null : extras(m),
    h('span', { class: 'meta small' }, when(m.timestamp), m.editedAt ? ' · edited' : '', m.fromMe ? ` ${ticks(m.ack)}` : ''),
    m.reactions?.length ? reactions(m) : null,
  );
}

/** The text under the file: a caption, or the label of a type without one. */
function body(m: Message): string {
  if (m.poll) return `📊 ${m.poll.name}`;
  if (m.vcards?.length) return '';
  if (m.location) return '';
  if (m.hasMedia && m.media?.filename && m.body === m.media.filename) return ''; // a document's body is its name
  return m.body || (m.hasMedia && !m.media ? `[${m.type}]` : '');
}

function extras(m: Message): HTMLElement | null {
  if (m.poll) return h('ul', { class: 'poll small' }, ...m.poll.options.map((o) => h('li', {}, `○ ${o}`)));
  if (m.location) {
    const { latitude: lat, longitude: lon, description } = m.location;
    return h('a', { class: 'location', href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`, target: '_blank', rel: 'noopener' }, `📍 ${description ?? `${lat}, ${lon}`}`);
  }
  if (m.vcards?.length) return h('span', { class: 'vcard' }, ...m.vcards.map((v) => `👤 ${/^FN:(.*)$/m.exec(v)?.[1] ?? 'Contact'}`));
  return null;
}

function reactions(m: Message): HTMLElement {
  const byEmoji = new Map<string, number>();
  for (const r of m.reactions ?? []) byEmoji.set(r.emoji, (byEmoji.get(r.emoji) ?? 0) + 1);
  return h('span', { class: 'reactions', 'aria-label': 'Reactions' }, ...[...byEmoji].map(([e, n]) => h('span', { class: 'reaction' }, n > 1 ? `${e} ${n}` : e)));
}

function media(m: Message, deps: MessageViewDeps): HTMLElement | null {
  if (!m.hasMedia) return null;
  const d = m.media;
  const label = MEDIA_LABEL[m.type] ?? `[${m.type}]`;
  if (!d) return h('span', { class: 'media-note small muted' }, label);
  if (d.status !== 'stored') return h('span', { class: `media-note small media-${d.status}` }, `${label} · ${statusText(d)}`);
  const box = h('div', { class: `media media-${m.type}` });
  const fill = (el: HTMLElement) => box.replaceChildren(el);
  if (m.type === 'image' || m.type === 'sticker') {
    const img = h('img', { class: 'media-img', alt: m.type === 'sticker' ? 'sticker' : m.body || 'image' });
    fill(img);
    void deps.mediaUrl(m).then((url) => (img.src = url), () => fill(h('span', { class: 'media-note small' }, `${label} · could not load`)));
  } else if (m.type === 'ptt' || m.type === 'audio') {
    const audio = h('audio', { controls: true, preload: 'metadata', 'aria-label': label });
    fill(audio);
    void deps.mediaUrl(m).then((url) => (audio.src = url), () => undefined);
  } else {
    const name = d.filename ?? `${m.type}${d.mimetype ? ` (${d.mimetype})` : ''}`;
    const link = h('a', { class: 'media-link', href: '#', download: d.filename ?? '' }, `${label}: ${name}${d.size ? ` · ${bytes(d.size)}` : ''}${d.durationSeconds ? ` · ${Math.round(d.durationSeconds)} s` : ''}`);
    // Fetched on click, with the key: a plain href could not carry it.
    link.addEventListener('click', (e) => {
      if (link.getAttribute('href') !== '#') return;
      e.preventDefault();
      void deps.mediaUrl(m).then((url) => {
        link.setAttribute('href', url);
        link.click();
      });
    });
    fill(link);
  }
  return box;
}

function statusText(d: MediaDescriptor): string {
  switch (d.status) {
    case 'pending':
      return 'downloading…';
    case 'expired':
      return 'expired: WhatsApp no longer has this file';
    case 'skipped':
      return d.error === 'too_large' ? `not downloaded: larger than the limit${d.size ? ` (${bytes(d.size)})` : ''}` : 'not downloaded (media policy)';
    default:
      return `download failed${d.error ? `: ${d.error}` : ''}`;
  }
}
