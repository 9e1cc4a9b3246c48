/** Connections to the Temporal server named by the runtime configuration. */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RuntimeConfig, TemporalConnectionConfig } from './runtime-config.js';

/**
 * What both `Connection.connect` (client, gRPC-js) and `NativeConnection.connect` (worker, Rust core)
 * take: the same address, TLS material and API key, so a client and a worker of one process can never
 * disagree about how they reach the cluster.
 */
export interface TemporalConnectionOptions {
  address: string;
  /** false: plain TCP (the embedded dev server); an object: TLS, with mTLS when it has a client pair. */
  tls: TLSConfig | false;
  /** Sent as "Authorization: Bearer …" (Temporal Cloud); only over TLS, which the config enforces. */
  apiKey?: string;
}

type TlsFile = 'serverRootCACertPath' | 'clientCertPath' | 'clientKeyPath';

/** The variable each file comes from, so a read error says what to fix. */
const TLS_FILE_ENV: Record<TlsFile, string> = {
  serverRootCACertPath: 'TEMPORAL_TLS_CA',
  clientCertPath: 'TEMPORAL_TLS_CERT',
  clientKeyPath: 'TEMPORAL_TLS_KEY',
};

function readPem(field: TlsFile, file: string, kind: 'certificate' | 'key'): Buffer {
  const variable = TLS_FILE_ENV[field];
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${variable}=${file}: cannot read the ${kind} file (${reason}); point ${variable} at a readable PEM file or unset it`);
  }
  const text = pem.toString('utf8');
  // Both SDKs would only fail later, at the handshake, with an opaque message; check the armour and parse it here.
  if (kind === 'certificate') {
    if (!text.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(
        `${variable}=${file}: not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line); convert it, e.g. openssl x509 -in cert.der -inform der -out cert.pem`,
      );
    }
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new Error(`${variable}=${file}: the PEM certificate does not parse (${(error as Error).message})`);
    }
  } else {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
      throw new Error(
        `${variable}=${file}: the private key is encrypted, which the Temporal SDK cannot use; decrypt it (openssl pkey -in key.pem -out plain.pem)`,
      );
    }
    if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(text)) {
      throw new Error(`${variable}=${file}: not a PEM private key (no "-----BEGIN PRIVATE KEY-----" line)`);
    }
    try {
      createPrivateKey(pem);
    } catch (error) {
      throw new Error(`${variable}=${file}: the PEM private key does not parse (${(error as Error).message})`);
    }
  }
  return pem;
}

/** Connection options for the client and the worker; reads (and checks) the PEM files the config names. */
export function connectionOptions(temporal: TemporalConnectionConfig): TemporalConnectionOptions {
  const apiKey = temporal.apiKey ? { apiKey: temporal.apiKey } : {};
  if (!temporal.tls) return { address: temporal.address, tls: false, ...apiKey };
  const { serverRootCACertPath, serverName, clientCertPath, clientKeyPath } = temporal.tls;
  const tls: TLSConfig = {};
  if (serverName) tls.serverNameOverride = serverName;
  if (serverRootCACertPath) tls.serverRootCACertificate = readPem('serverRootCACertPath', serverRootCACertPath, 'certificate');
  if (clientCertPath && clientKeyPath) {
    const crt = readPem('clientCertPath', clientCertPath, 'certificate');
    const key = readPem('clientKeyPath', clientKeyPath, 'key');
    // A mismatched pair is otherwise reported by the server as a bare handshake failure.
    if (!new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))) {
      throw new Error(
        `TEMPORAL_TLS_KEY=${clientKeyPath} is not the private key of the certificate TEMPORAL_TLS_CERT=${clientCertPath}; give the matching pair`,
      );
    }
    tls.clientCertPair = { crt, key };
  }
  return { address: temporal.address, tls, ...apiKey };
}

export async function connectClient(config: RuntimeConfig): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(config.temporal), connectTimeout: '5s' });
  return new Client({ connection, namespace: config.temporal.namespace });
}

export async function connectWorker(config: RuntimeConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config.temporal));
}

/** Where a cluster's Web UI is and which namespace the competition runs in (the two parts of every UI link). */
export interface TemporalUiLocation {
  uiUrl: string;
  namespace: string;
}

export const uiLocationOf = (config: RuntimeConfig): TemporalUiLocation => ({ uiUrl: config.uiUrl, namespace: config.temporal.namespace });

/** A Web UI page of the namespace (its workflow or schedule list, or one of them): the one place UI links are built. */
export function uiPageUrl(where: RuntimeConfig | TemporalUiLocation, page: 'workflows' | 'schedules', id?: string): string {
  const { uiUrl, namespace } = 'temporal' in where ? uiLocationOf(where) : where;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/${page}${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;
}

/** The Web UI page of one workflow (CLI, cockpit, web page). */
export const workflowUrl = (where: RuntimeConfig | TemporalUiLocation, workflowId: string): string => uiPageUrl(where, 'workflows', workflowId);
