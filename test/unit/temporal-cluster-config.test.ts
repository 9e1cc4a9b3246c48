/**
 * The cluster's node configs and schema steps (infra/temporal-cluster.ts, infra/temporal-server-build.ts), checked
 * without the Go binaries: what the server needs from them was found by running it (integration test
 * temporal-cluster), and these are the rules that run taught.
 */
import { describe, expect, it } from '@jest/globals';
import { nodeConfig, planCluster, TEMPORAL_SERVICES } from '../../infra/temporal-cluster.js';
import { schemaCommands, sqlStoreFrom, temporalServerBinaries } from '../../infra/temporal-server-build.js';
import { TEMPORAL_CLUSTER } from '../../infra/runtime-config.js';

const stores = {
  default: sqlStoreFrom('postgresql://challenge@127.0.0.1:55432/challenge', 'temporal'),
  visibility: sqlStoreFrom('postgresql://challenge@127.0.0.1:55432/challenge', 'temporal_visibility'),
};
const tls = {
  caCert: '/pki/ca.pem',
  serverCert: '/pki/server.pem',
  serverKey: '/pki/server.key',
  clientCert: '/pki/client.pem',
  clientKey: '/pki/client.key',
  serverName: 'temporal.test',
};

describe('temporal cluster plan', () => {
  it('has two frontends and two history nodes by default, every port distinct and below 32768 (cluster_membership.rpc_port is a smallint)', async () => {
    const plan = await planCluster({ dir: '/tmp/x', binaries: temporalServerBinaries({ XDG_CACHE_HOME: '/cache' }), stores, tls });
    expect(plan.nodes.map((n) => n.name)).toEqual(['frontend-1', 'frontend-2', 'history-1', 'history-2', 'matching-1', 'worker-1']);
    const ports = plan.nodes.flatMap((n) => [n.grpcPort, n.membershipPort, ...(n.httpPort ? [n.httpPort] : [])]);
    expect(new Set(ports).size).toBe(ports.length);
    expect(Math.max(...ports)).toBeLessThan(32768);
    expect(plan.binaries.server).toBe(`/cache/challenge/temporal/${TEMPORAL_CLUSTER.serverVersion}/bin/temporal-server`);
  });

  it('lists every service in each node config, with the node on its own ports, and mTLS on the frontends', async () => {
    const plan = await planCluster({ dir: '/tmp/x', binaries: temporalServerBinaries({}), stores, tls });
    const node = plan.nodes.find((n) => n.name === 'frontend-2')!;
    const config = nodeConfig(plan, node) as {
      services: Record<string, { rpc: { grpcPort: number; membershipPort: number } }>;
      global: { tls: { frontend: { server: { requireClientAuth: boolean; clientCaFiles: string[] } }; systemWorker: { certFile: string } } };
      persistence: { numHistoryShards: number };
    };
    expect(Object.keys(config.services).sort()).toEqual([...TEMPORAL_SERVICES].sort());
    expect(config.services.frontend!.rpc).toMatchObject({ grpcPort: node.grpcPort, membershipPort: node.membershipPort });
    expect(config.global.tls.frontend.server).toMatchObject({ requireClientAuth: true, clientCaFiles: [tls.caCert] });
    expect(config.global.tls.systemWorker.certFile).toBe(tls.clientCert);
    expect(config.persistence.numHistoryShards).toBe(TEMPORAL_CLUSTER.numHistoryShards);
  });

  it('sets up each schema as upstream does: version 0.0, then every versioned step of the embedded schema', () => {
    const steps = schemaCommands({ ...stores.visibility, password: 'secret' }, 'visibility', true).map((args) =>
      args.slice(args.indexOf('--database') + 2).join(' '),
    );
    expect(steps).toEqual([
      '--password secret create-database',
      '--password secret setup-schema -v 0.0',
      '--password secret update-schema --schema-name postgresql/v12/visibility',
    ]);
  });
});
