import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppServices } from '../app/services.js';
import type { Logger } from '../app/logger.js';
import { rendererContentSecurityPolicy } from '../ipc/content-security-policy.js';
import { maxWireMessageBytes, parseClientMessage, type NestcapError, type ServerMessage } from '../ipc/contract.js';

/**
 * The second real host for the renderer: serves the built UI over loopback HTTP and carries the
 * IPC contract over a WebSocket. Only this machine can reach it, and only a page that knows the
 * per-run secret token (handed over in the URL fragment, which browsers never send to servers)
 * can use it.
 */

export interface BrowserHostOptions {
  readonly services: AppServices;
  readonly rendererDirectory: string;
  readonly logger: Logger;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly token?: string;
  readonly authTimeoutMs?: number;
}

export interface RunningBrowserHost {
  readonly origin: string;
  /** Page URL including the token fragment. */
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

export const ipcPath = '/ipc';
/** The editor's player loads media from here; the services hand out the keyed URLs. */
export const mediaPathPrefix = '/media/';
export const unauthorizedCloseCode = 4401;
export const protocolErrorCloseCode = 4400;

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export async function startBrowserHost(options: BrowserHostOptions): Promise<RunningBrowserHost> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const rendererRoot = resolve(options.rendererDirectory);
  const { logger } = options;
  let allowedHosts: ReadonlySet<string> = new Set();

  const server = createServer((request, response) => {
    if (!allowedHosts.has(request.headers.host ?? '')) {
      // A foreign Host header means DNS rebinding or a misdirected request.
      logger.warn('browser host refused request with foreign Host header', { host: request.headers.host });
      respondPlain(response, 421, 'Misdirected request');
      return;
    }
    const url = new URL(request.url ?? '/', 'http://placeholder');
    if (url.pathname.startsWith(mediaPathPrefix)) void serveMedia(options.services, url, request, response, logger);
    else void serveStatic(rendererRoot, request, response, logger);
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxWireMessageBytes });

  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://placeholder');
    const origin = request.headers.origin ?? '';
    const hostOk = allowedHosts.has(request.headers.host ?? '');
    const originOk = [...allowedHosts].some((host) => origin === `http://${host}`);
    if (url.pathname !== ipcPath || !hostOk || !originOk) {
      logger.warn('browser host refused WebSocket upgrade', { path: url.pathname, origin, host: request.headers.host });
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (client) => {
      acceptClient(client, { services: options.services, logger, token, authTimeoutMs: options.authTimeoutMs ?? 5000 });
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const origin = `http://127.0.0.1:${port}`;
  logger.info('browser host listening', { origin });

  return {
    origin,
    url: `${origin}/#token=${token}`,
    token,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

interface ClientContext {
  readonly services: AppServices;
  readonly logger: Logger;
  readonly token: string;
  readonly authTimeoutMs: number;
}

function acceptClient(client: WebSocket, context: ClientContext): void {
  const { logger } = context;
  let unsubscribe: (() => void) | undefined;
  const send = (message: ServerMessage) => {
    if (client.readyState === client.OPEN) client.send(JSON.stringify(message));
  };
  const reject = (error: NestcapError, closeCode: number) => {
    send({ type: 'rejected', error });
    client.close(closeCode, error.code);
  };

  const authTimer = setTimeout(() => {
    logger.warn('browser host closed a client that never authenticated');
    reject({ code: 'unauthorized', message: 'no hello within the time allowed' }, unauthorizedCloseCode);
  }, context.authTimeoutMs);

  let lastMediaComplaint = 0;
  client.on('message', (data, isBinary) => {
    if (isBinary) {
      if (unsubscribe === undefined) {
        logger.warn('browser host rejected a binary frame before authentication');
        reject({ code: 'unauthorized', message: 'authenticate before sending media' }, unauthorizedCloseCode);
        return;
      }
      // Binary frames are live media; a bad one is dropped and reported, not fatal.
      const result = context.services.acceptMediaFrame(rawDataToBytes(data));
      if (!result.ok && Date.now() - lastMediaComplaint > 1000) {
        lastMediaComplaint = Date.now();
        logger.warn('browser host dropped a live media frame', { error: result.error });
        send({ type: 'media-rejected', error: result.error });
      }
      return;
    }
    const parsed = parseClientMessage(rawDataToText(data));
    if (!parsed.ok) {
      logger.warn('browser host rejected a malformed message', { error: parsed.error, authenticated: unsubscribe !== undefined });
      reject(parsed.error, unsubscribe === undefined ? unauthorizedCloseCode : protocolErrorCloseCode);
      return;
    }
    const message = parsed.value;
    if (unsubscribe === undefined) {
      if (message.type !== 'hello' || !tokensMatch(message.token, context.token)) {
        logger.warn('browser host rejected an unauthenticated client', { messageType: message.type });
        reject({ code: 'unauthorized', message: 'missing or wrong token' }, unauthorizedCloseCode);
        return;
      }
      clearTimeout(authTimer);
      unsubscribe = context.services.events.subscribe((event, payload) => send({ type: 'event', event, payload }));
      send({ type: 'welcome', host: 'browser' });
      return;
    }
    if (message.type !== 'request') {
      logger.warn('browser host rejected a repeated hello');
      reject({ code: 'invalid-request', message: 'already authenticated' }, protocolErrorCloseCode);
      return;
    }
    void context.services.dispatch(message.channel, message.payload).then((result) => {
      send({ type: 'response', id: message.id, result });
    });
  });

  client.on('close', () => {
    clearTimeout(authTimer);
    unsubscribe?.();
  });
  client.on('error', (error) => logger.warn('browser host client error', { error: error.message }));
}

function rawDataToBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function rawDataToText(data: Buffer | ArrayBuffer | Buffer[]): string {
  return Buffer.from(rawDataToBytes(data)).toString('utf8');
}

function tokensMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function serveStatic(root: string, request: IncomingMessage, response: ServerResponse, logger: Logger) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    respondPlain(response, 405, 'Method not allowed');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://placeholder').pathname);
  } catch {
    respondPlain(response, 400, 'Bad request');
    return;
  }
  const relative = pathname === '/' ? 'index.html' : normalize(pathname).replace(/^[/\\]+/, '');
  const filePath = join(root, relative);
  if (filePath !== root && !filePath.startsWith(root + sep)) {
    logger.warn('browser host refused a path outside the renderer', { pathname });
    respondPlain(response, 403, 'Forbidden');
    return;
  }
  try {
    const info = await stat(filePath);
    if (!info.isFile()) throw new Error('not a file');
    response.writeHead(200, {
      'Content-Type': contentTypes[extname(filePath)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      ...securityHeaders(),
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(filePath).pipe(response);
  } catch {
    respondPlain(response, 404, 'Not found');
  }
}

const mediaTypes: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mov': 'video/quicktime',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
};

/** A library media file, with byte ranges so the player can seek without reading the whole file. */
async function serveMedia(services: AppServices, url: URL, request: IncomingMessage, response: ServerResponse, logger: Logger) {
  const mediaId = Number(url.pathname.slice(mediaPathPrefix.length));
  const path = Number.isSafeInteger(mediaId) && mediaId > 0 ? services.resolveMediaFile(mediaId, url.searchParams.get('key') ?? '') : undefined;
  if (path === undefined) {
    logger.warn('browser host refused a media request without a valid key', { path: url.pathname });
    respondPlain(response, 403, 'Forbidden');
    return;
  }
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    respondPlain(response, 404, 'The media file is no longer there');
    return;
  }
  const headers = { 'Content-Type': mediaTypes[extname(path).toLowerCase()] ?? 'application/octet-stream', 'Accept-Ranges': 'bytes', ...securityHeaders() };
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? '');
  if (!range || (range[1] === '' && range[2] === '')) {
    response.writeHead(200, { ...headers, 'Content-Length': size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(path).pipe(response);
    return;
  }
  const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
  const end = range[1] === '' || range[2] === '' ? size - 1 : Math.min(size - 1, Number(range[2]));
  if (start > end || start >= size) {
    response.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
    response.end();
    return;
  }
  response.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
  if (request.method === 'HEAD') response.end();
  else createReadStream(path, { start, end }).pipe(response);
}

function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': rendererContentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

function respondPlain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders() });
  response.end(text);
}
