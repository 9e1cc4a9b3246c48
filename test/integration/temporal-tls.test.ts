/**
 * mTLS against a real Temporal server. `temporal server start-dev` (CLI v1.5.1) has no TLS flags, so the
 * project's dev server runs on a loopback port and a Node TLS server that demands a client certificate
 * signed by the test CA terminates TLS in front of it and pipes the bytes through (gRPC over HTTP/2
 * survives a byte proxy; ALPN "h2" is what both SDKs ask for). The certificates come from `openssl`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { loadRuntimeConfig, type RuntimeConfig } from '../../infra/runtime-config.js';
import { ensureDevServer, freePort, stopDevServer, type DevServerOptions } from '../../infra/dev-server.js';
import { connectClient, connectWorker } from '../../infra/temporal.js';
import { makePki, type Pki } from '../support/pki.js';

const SERVER_NAME = 'temporal.test';

let dir: string;
let pki: Pki;
let server: DevServerOptions;
let serverPid: number | null = null;
let proxy: tls.Server;
let proxyPort: number;
/** Handshakes the proxy refused, with the reason (to prove the refusal was the missing certificate). */
const refused: string[] = [];

function configFor(withClientCert: boolean): RuntimeConfig {
  return loadRuntimeConfig(
    {
      CHALLENGE_DATA_DIR: dir,
      TEMPORAL_ADDRESS: `127.0.0.1:${proxyPort}`,
      TEMPORAL_TLS_CA: pki.caCert,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
      ...(withClientCert ? { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.clientKey } : {}),
    },
    dir,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-it-'));
  pki = makePki(dir, SERVER_NAME);
  server = { port: await freePort(), uiPort: await freePort(), dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'temporal.log') };
  serverPid = (await ensureDevServer(server)).pid;
  proxy = tls.createServer(
    {
      key: readFileSync(pki.serverKey),
      cert: readFileSync(pki.serverCert),
      ca: readFileSync(pki.caCert),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = net.connect({ host: '127.0.0.1', port: server.port });
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
    },
  );
  proxy.on('tlsClientError', (error) => refused.push(error.message));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as net.AddressInfo).port;
}, 90_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  if (server) await stopDevServer(server);
  // stopDevServer returns once the port is closed; the process still flushes its SQLite file for a moment.
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const deadline = Date.now() + 10_000; serverPid !== null && alive(serverPid) && Date.now() < deadline;)
    await new Promise((resolve) => setTimeout(resolve, 100));
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('Temporal over mutual TLS', () => {
  it('the client built by connectClient describes the namespace through the mTLS endpoint', async () => {
    const client = await connectClient(configFor(true));
    try {
      const { namespaceInfo } = await client.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespaceInfo?.name).toBe('default');
    } finally {
      await client.connection.close();
    }
  }, 30_000);

  it('without a client certificate the server refuses the connection', async () => {
    const before = refused.length;
    await expect(connectClient(configFor(false))).rejects.toThrow();
    expect(refused.length).toBeGreaterThan(before);
    expect(refused.slice(before).join('\n')).toMatch(/certificate/i);
  }, 30_000);

  it('a worker connection (NativeConnection, Rust core) from connectWorker connects with the same settings', async () => {
    const connection = await connectWorker(configFor(true));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
    } finally {
      await connection.close();
    }
  }, 30_000);
});
