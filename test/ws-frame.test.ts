/**
 * The API writes prebuilt WebSocket frames straight to each socket's TCP stream: a client's own
 * WebSocket parser must read them as the text messages they carry, whatever the length class
 * of the header (7-bit, 16-bit, 64-bit), also when several arrive in one chunk.
 */
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { wsTextFrame } from '../services/api/src/stream/ws.frame';

// ws exports its frame parser at runtime; its type declarations leave it out.
const Receiver = (ws as unknown as { Receiver: new (options: { isServer: boolean }) => Writable }).Receiver;

function parse(chunk: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    const messages: string[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => messages.push(`${isBinary ? 'binary' : 'text'}:${data.toString()}`));
    receiver.on('error', reject);
    receiver.write(chunk, () => resolve(messages));
  });
}

test.each([0, 10, 125, 126, 65_535, 65_536, 200_000])('a %i-byte payload arrives as one text message with that payload', async (length) => {
  const payload = 'x'.repeat(length);
  expect(await parse(wsTextFrame(Buffer.from(payload)))).toEqual([`text:${payload}`]);
});

test('frames packed into one write arrive as separate messages, in order', async () => {
  const events = ['{"event":"a"}', 'é'.repeat(100), '{"event":"c"}'];
  const chunk = Buffer.concat(events.map((e) => wsTextFrame(Buffer.from(e))));
  expect(await parse(chunk)).toEqual(events.map((e) => `text:${e}`));
});
