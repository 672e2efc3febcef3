// Small HTTP helpers shared by the routes: bounded body reading and OpenAI-shaped JSON replies.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body accepted, in bytes; bigger bodies get a 413. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reads the whole request body; rejects with BodyTooLargeError past `limit` bytes. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit: reject once, then keep draining (and dropping) so the 413 can be read.
      if (size > limit) reject(new BodyTooLargeError(`request body exceeds ${limit} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** True when nothing can be written any more (client gone, socket destroyed, already answered). */
export function isGone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded || res.socket === null || res.socket.destroyed;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (isGone(res)) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export interface ApiErrorBody {
  message: string;
  /** OpenAI error type, e.g. `invalid_request_error`, `server_error`, `requests`. */
  type: string;
  code: string | null;
  param?: string | null;
}

/** Sends `{ error: { message, type, code, param } }`, the body shape the openai client parses. */
export function sendError(res: ServerResponse, status: number, error: ApiErrorBody, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { param: null, ...error } }, headers);
}

/** The first value of a request header, or undefined. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
