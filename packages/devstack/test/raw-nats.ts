// A minimal NATS protocol client over a raw TCP socket, just enough to check a server devstack
// started (read INFO, request-reply) without depending on a NATS client library.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface NatsInfo {
  server_id: string;
  version: string;
  port: number;
  max_payload: number;
  jetstream?: boolean;
}

/** Reads the INFO line a NATS server sends on connect, then closes the socket. */
export async function readInfo(port: number, timeoutMs = 5_000): Promise<{ line: string; info: NatsInfo }> {
  const client = await RawNats.connect(port, timeoutMs);
  client.close();
  return { line: client.infoLine, info: client.info };
}

export class RawNats {
  private buffer = Buffer.alloc(0);
  private nextSid = 1;
  private readonly waiters = new Map<string, (payload: string) => void>();
  private pongWaiter: (() => void) | undefined;
  infoLine = '';
  /** -ERR lines the server sent. */
  readonly errors: string[] = [];
  info = {} as NatsInfo;

  private constructor(private readonly socket: Socket) {}

  static connect(port: number, timeoutMs = 5_000): Promise<RawNats> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const client = new RawNats(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no INFO from 127.0.0.1:${port} within ${timeoutMs}ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('data', (chunk: Buffer) => {
        client.buffer = Buffer.concat([client.buffer, chunk]);
        client.parse();
        if (client.infoLine !== '') {
          clearTimeout(timer);
          resolve(client);
        }
      });
    });
  }

  /** Sends CONNECT and PING, resolves on PONG. */
  async handshake(timeoutMs = 5_000): Promise<void> {
    this.socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, lang: 'raw', version: '0' })}\r\nPING\r\n`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no PONG')), timeoutMs);
      this.pongWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Publishes `payload` to `subject` with a fresh inbox as reply-to and resolves with the reply. */
  request(subject: string, payload: string, timeoutMs = 5_000): Promise<string> {
    const sid = String(this.nextSid++);
    const inbox = `_INBOX.raw.${sid}`;
    const body = Buffer.from(payload);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(sid);
        reject(new Error(`no reply to ${subject} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiters.set(sid, (reply) => {
        clearTimeout(timer);
        this.socket.write(`UNSUB ${sid}\r\n`);
        resolve(reply);
      });
      this.socket.write(`SUB ${inbox} ${sid}\r\nPUB ${subject} ${inbox} ${body.length}\r\n`);
      this.socket.write(Buffer.concat([body, Buffer.from('\r\n')]));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString('utf8');
      if (line.startsWith('MSG ')) {
        // MSG <subject> <sid> [reply-to] <#bytes>
        const parts = line.split(' ');
        const size = Number(parts[parts.length - 1]);
        const sid = parts[2] ?? '';
        if (this.buffer.length < end + 2 + size + 2) return;
        const payload = this.buffer.subarray(end + 2, end + 2 + size).toString('utf8');
        this.buffer = this.buffer.subarray(end + 2 + size + 2);
        this.waiters.get(sid)?.(payload);
        this.waiters.delete(sid);
        continue;
      }
      this.buffer = this.buffer.subarray(end + 2);
      if (line.startsWith('INFO ')) {
        this.infoLine = line;
        this.info = JSON.parse(line.slice('INFO '.length)) as NatsInfo;
      } else if (line === 'PING') {
        this.socket.write('PONG\r\n');
      } else if (line === 'PONG') {
        this.pongWaiter?.();
        this.pongWaiter = undefined;
      } else if (line.startsWith('-ERR')) {
        this.errors.push(line);
      }
    }
  }
}
