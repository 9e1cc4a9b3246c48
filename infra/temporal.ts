/** Connections to the Temporal server named by the runtime configuration. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { RuntimeConfig } from '../temporal.config.js';

export async function connectClient(config: RuntimeConfig): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: '5s' });
  return new Client({ connection, namespace: config.namespace });
}

export async function connectWorker(config: RuntimeConfig): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporalAddress });
}

/** The Web UI page of one workflow. */
export function workflowUrl(config: RuntimeConfig, workflowId: string): string {
  return `${config.uiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
