import { contentDisposition, noneMatch, parseRange } from './media.http';

describe('serving a file over HTTP', () => {
  it('reads one byte range of the three forms, and ignores what is not one', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseRange('bytes=50-5000', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    expect(parseRange('bytes=0-0', 100)).toEqual({ kind: 'partial', start: 0, end: 0 });
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    for (const ignored of ['bytes=0-1,5-6', 'items=0-1', 'bytes=-', 'bytes=9-3', 'garbage']) expect(parseRange(ignored, 100)).toEqual({ kind: 'whole' });
  });

  it('matches If-None-Match on the SHA-256 tag, in a list, weak or *', () => {
    const sha = 'ab'.repeat(32);
    expect(noneMatch(`"${sha}"`, sha)).toBe(true);
    expect(noneMatch(`"x", W/"${sha}"`, sha)).toBe(true);
    expect(noneMatch('*', sha)).toBe(true);
    expect(noneMatch('"other"', sha)).toBe(false);
    expect(noneMatch(undefined, sha)).toBe(false);
  });

  it('names the download, inline only for media a browser shows', () => {
    const sha = 'cd'.repeat(32);
    expect(contentDisposition('invoice 2024.pdf', 'application/pdf', sha)).toBe(`inline; filename="invoice 2024.pdf"; filename*=UTF-8''invoice%202024.pdf`);
    expect(contentDisposition(null, 'image/png', sha)).toBe(`inline; filename="image-cdcdcdcdcdcd.png"; filename*=UTF-8''image-cdcdcdcdcdcd.png`);
    expect(contentDisposition('Überweisung "Mai".html', 'text/html', sha)).toBe(
      `attachment; filename="_berweisung _Mai_.html"; filename*=UTF-8''%C3%9Cberweisung%20%22Mai%22.html`,
    );
    expect(contentDisposition(null, 'audio/ogg; codecs=opus', sha)).toMatch(/^inline; filename="audio-cdcdcdcdcdcd\.ogg"/);
  });
});
