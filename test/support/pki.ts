/**
 * A throwaway PKI made with the real `openssl` CLI: a CA, a server certificate for a DNS name (and
 * 127.0.0.1) and a client certificate, all signed by the CA. EC P-256 keys keep generation fast; the
 * extensions are the ones rustls (the worker's Rust core) insists on: CA:TRUE on the CA, a SAN and
 * CA:FALSE on the leaves.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

const newKey = (keyFile: string) => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile];

function leaf(dir: string, name: string, subject: string, extensions: string[]): void {
  writeFileSync(path.join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(['req', '-new', ...newKey(`${name}.key`), '-out', `${name}.csr`, '-subj', `/CN=${subject}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

export function makePki(dir: string, serverName: string): Pki {
  openssl(
    [
      'req',
      '-x509',
      ...newKey('ca.key'),
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=challenge test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  leaf(dir, 'server', serverName, [
    `subjectAltName=DNS:${serverName},IP:127.0.0.1`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
  ]);
  leaf(dir, 'client', 'challenge-worker', [
    'subjectAltName=DNS:challenge-worker',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ]);
  const at = (file: string) => path.join(dir, file);
  return {
    dir,
    caCert: at('ca.pem'),
    caKey: at('ca.key'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  };
}
