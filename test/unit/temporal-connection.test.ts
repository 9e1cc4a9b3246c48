import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { connectionOptions } from '../../infra/temporal.js';
import { makePki, type Pki } from '../support/pki.js';

const load = (env: Record<string, string>) => loadRuntimeConfig(env, '/srv/challenge');

describe('loadRuntimeConfig: the Temporal connection', () => {
  it('defaults to plain TCP to the embedded dev server', () => {
    const config = load({});
    expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', tls: null, apiKey: null });
    expect(connectionOptions(config.temporal)).toEqual({ address: '127.0.0.1:7233', tls: false });
  });

  it('rejects a client certificate without its key, naming both variables', () => {
    expect(() => load({ TEMPORAL_TLS_CERT: '/etc/temporal/client.pem' })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
    expect(() => load({ TEMPORAL_TLS_KEY: '/etc/temporal/client.key' })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
  });

  it('turns TLS on with an API key (Temporal Cloud) and passes the key to both connections', () => {
    const config = load({ TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'my-ns.a1b2c', TEMPORAL_API_KEY: 'secret-key' });
    expect(config.temporal).toEqual({ address: 'my-ns.a1b2c.tmprl.cloud:7233', namespace: 'my-ns.a1b2c', tls: {}, apiKey: 'secret-key' });
    expect(connectionOptions(config.temporal)).toEqual({ address: 'my-ns.a1b2c.tmprl.cloud:7233', tls: {}, apiKey: 'secret-key' });
  });

  it('refuses to send an API key in clear text', () => {
    expect(() => load({ TEMPORAL_API_KEY: 'secret-key', TEMPORAL_TLS: 'false' })).toThrow(/apiKey: an API key is only sent over TLS/);
  });

  it('rejects an address that is not host:port', () => {
    expect(() => load({ TEMPORAL_ADDRESS: 'temporal.internal' })).toThrow(/temporal.address: write host:port/);
    expect(() => load({ TEMPORAL_ADDRESS: 'http://temporal:7233' })).toThrow(/write host:port/);
  });

  it('accepts only a PostgreSQL DATABASE_URL', () => {
    expect(load({ DATABASE_URL: 'postgresql://challenge:pw@db:5432/challenge' }).databaseUrl).toBe('postgresql://challenge:pw@db:5432/challenge');
    expect(load({}).databaseUrl).toBeNull();
    expect(() => load({ DATABASE_URL: 'mysql://challenge@db/challenge' })).toThrow(/DATABASE_URL must be a PostgreSQL URL/);
  });

  it('reads the artifact store from CHALLENGE_ARTIFACT_STORE: s3, file or a path', () => {
    expect(load({ CHALLENGE_ARTIFACT_STORE: 's3://challenge-artifacts/2026/final/', CHALLENGE_S3_ENDPOINT: 'http://minio:9000' }).artifactStore).toEqual({
      kind: 's3',
      bucket: 'challenge-artifacts',
      prefix: '2026/final',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    expect(load({ CHALLENGE_ARTIFACT_STORE: 's3://bucket-1', AWS_REGION: 'eu-west-1' }).artifactStore).toMatchObject({
      bucket: 'bucket-1',
      prefix: '',
      endpoint: null,
      region: 'eu-west-1',
      forcePathStyle: false,
    });
    expect(load({ CHALLENGE_ARTIFACT_STORE: 'file:///mnt/shared/store' }).artifactStore).toEqual({ kind: 'fs', root: '/mnt/shared/store' });
    expect(load({ CHALLENGE_ARTIFACT_STORE: '/mnt/shared/store' }).artifactStore).toEqual({ kind: 'fs', root: '/mnt/shared/store' });
    expect(load({}).artifactStore).toEqual({ kind: 'fs', root: '/srv/challenge/.data/store' });
    expect(() => load({ CHALLENGE_ARTIFACT_STORE: 'gs://bucket/prefix' })).toThrow(/CHALLENGE_ARTIFACT_STORE is s3:\/\/bucket\/prefix/);
    expect(() => load({ CHALLENGE_ARTIFACT_STORE: 's3://Bad_Bucket/x' })).toThrow(/an S3 bucket name/);
  });
});

describe('connectionOptions with real PEM files (openssl)', () => {
  let dir: string;
  let pki: Pki;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-unit-'));
    pki = makePki(dir, 'temporal.test');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsEnv = (overrides: Record<string, string> = {}) => ({
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    TEMPORAL_TLS_CA: pki.caCert,
    TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    TEMPORAL_TLS_CERT: pki.clientCert,
    TEMPORAL_TLS_KEY: pki.clientKey,
    ...overrides,
  });

  it('reads the CA, the client pair and the server name for mTLS', () => {
    const options = connectionOptions(load(tlsEnv()).temporal);
    expect(options.address).toBe('temporal.internal:7233');
    expect(options.apiKey).toBeUndefined();
    if (!options.tls) throw new Error('expected TLS options');
    expect(options.tls.serverNameOverride).toBe('temporal.test');
    expect(Buffer.from(options.tls.serverRootCACertificate ?? []).toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(Buffer.from(options.tls.clientCertPair?.crt ?? []).toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(Buffer.from(options.tls.clientCertPair?.key ?? []).toString()).toMatch(/-----BEGIN (EC )?PRIVATE KEY-----/);
  });

  it('verifies the server with a private CA alone (TLS without a client certificate)', () => {
    const options = connectionOptions(load({ TEMPORAL_TLS_CA: pki.caCert }).temporal);
    expect(options.tls).toEqual({ serverRootCACertificate: expect.any(Buffer) });
  });

  it('names TEMPORAL_TLS_CA and the path when the CA file is missing', () => {
    const missing = path.join(dir, 'nope', 'ca.pem');
    expect(() => connectionOptions(load(tlsEnv({ TEMPORAL_TLS_CA: missing })).temporal)).toThrow(
      `TEMPORAL_TLS_CA=${missing}: cannot read the certificate file (ENOENT)`,
    );
  });

  it('names TEMPORAL_TLS_KEY when the key file is missing', () => {
    expect(() => connectionOptions(load(tlsEnv({ TEMPORAL_TLS_KEY: path.join(dir, 'absent.key') })).temporal)).toThrow(
      /^TEMPORAL_TLS_KEY=.*absent\.key: cannot read/,
    );
  });

  it('rejects files that are not PEM', () => {
    const der = path.join(dir, 'ca.der');
    writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]));
    expect(() => connectionOptions(load(tlsEnv({ TEMPORAL_TLS_CA: der })).temporal)).toThrow(/TEMPORAL_TLS_CA=.*ca\.der: not a PEM certificate/);
    const notKey = path.join(dir, 'cert-as-key.pem');
    copyFileSync(pki.clientCert, notKey);
    expect(() => connectionOptions(load(tlsEnv({ TEMPORAL_TLS_KEY: notKey })).temporal)).toThrow(/TEMPORAL_TLS_KEY=.*: not a PEM private key/);
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    expect(() => connectionOptions(load(tlsEnv({ TEMPORAL_TLS_CERT: garbage })).temporal)).toThrow(/TEMPORAL_TLS_CERT=.*: the PEM certificate does not parse/);
  });

  it('rejects a client key that does not belong to the client certificate', () => {
    expect(() => connectionOptions(load(tlsEnv({ TEMPORAL_TLS_KEY: pki.serverKey })).temporal)).toThrow(
      /TEMPORAL_TLS_KEY=.* is not the private key of the certificate TEMPORAL_TLS_CERT=/,
    );
  });
});
