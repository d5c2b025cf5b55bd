import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** What a request Node's parser refused gets: the status and the error shape's code. */
function answerFor(code: string | undefined): { status: number; code: string; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request_timeout', message: 'the request did not arrive whole in time' };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers_too_large', message: 'the request line and headers exceed 16 KiB' };
  return { status: 400, code: 'bad_request', message: 'the request is not valid HTTP' };
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers over 16 KiB, a request that
 * never arrives whole, bytes that are not HTTP) are answered in the API's error shape, as Fastify's
 * default handler does in its own: `{ error: { code, message } }`, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = answerFor(err.code);
  const body = JSON.stringify({ error: { code: answer.code, message: answer.message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
