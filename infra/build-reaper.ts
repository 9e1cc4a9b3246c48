/**
 * What a host worker that died mid-build leaves behind, reaped when the next one starts: the build's network
 * (labelled `challenge.build-sandbox=true`, named with the host's prefix, infra/docker.ts hostBuildPrefix), the
 * step containers still attached to it, its firewall chain and rules (infra/firewall.ts) and its process limit
 * (cgroup or systemd slice, infra/build-cgroup.ts). Only this host's own sandboxes are taken down; a firewall
 * chain whose bridge no longer exists, or a cgroup of this host's prefix whose network is gone, belongs to no
 * running build and is removed as well.
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { buildCgroupDirs, buildCgroupsNamed, removeBuildCgroup } from './build-cgroup.js';
import { bridgeInterface, docker, LABEL_PREFIX, removeNetwork } from './docker.js';
import { unsandboxBuildNetwork } from './firewall.js';

export interface ReapedBuildSandboxes {
  networks: string[];
  /** Step containers that were still attached to a reaped network. */
  containers: string[];
  chains: string[];
  cgroups: string[];
}

const lines = (text: unknown) =>
  String(text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** The build networks of `prefix` (a host's hostBuildPrefix) on this engine. */
export async function buildNetworksOf(prefix: string): Promise<string[]> {
  const listed = await docker(['network', 'ls', '--filter', `label=${LABEL_PREFIX}.build-sandbox=true`, '--format', '{{.Name}}']);
  return lines(listed.stdout).filter((name) => name.startsWith(prefix));
}

/** The bridges of the build firewall chains (CHALLENGE-br-<12 hex>) that iptables holds. */
export async function buildChainBridges(): Promise<string[]> {
  const listed = await execa('iptables', ['-w', '-S'], { reject: false });
  return [...new Set([...String(listed.stdout ?? '').matchAll(/^-N CHALLENGE-(br-[0-9a-f]{12})$/gm)].map((m) => m[1]!))];
}

/** Takes down every build sandbox of `prefix` and every chain whose bridge is gone; says what it removed. */
export async function reapBuildSandboxes(prefix: string): Promise<ReapedBuildSandboxes> {
  const reaped: ReapedBuildSandboxes = { networks: [], containers: [], chains: [], cgroups: [] };
  for (const network of await buildNetworksOf(prefix)) {
    const attached = await docker(['network', 'inspect', '--format', '{{range .Containers}}{{.Name}}\n{{end}}', network]);
    for (const container of lines(attached.stdout)) {
      await docker(['rm', '-f', '-v', container]);
      reaped.containers.push(container);
    }
    const bridge = await bridgeInterface(network);
    if (bridge) {
      await unsandboxBuildNetwork(bridge);
      reaped.chains.push(`CHALLENGE-${bridge}`);
    }
    if (buildCgroupDirs(network).length > 0) reaped.cgroups.push(network);
    await removeBuildCgroup(network);
    await removeNetwork(network);
    reaped.networks.push(network);
  }
  for (const bridge of await buildChainBridges()) {
    if (existsSync(`/sys/class/net/${bridge}`)) continue; // a build running now, on this host or another
    await unsandboxBuildNetwork(bridge);
    reaped.chains.push(`CHALLENGE-${bridge}`);
  }
  const networks = new Set(lines((await docker(['network', 'ls', '--format', '{{.Name}}'])).stdout));
  for (const name of await buildCgroupsNamed(prefix)) {
    if (networks.has(name) || reaped.networks.includes(name)) continue;
    await removeBuildCgroup(name);
    reaped.cgroups.push(name);
  }
  return reaped;
}

/** One line for the host's log; null when nothing was left behind. */
export function describeReaped(reaped: ReapedBuildSandboxes): string | null {
  const parts = [
    reaped.networks.length ? `${reaped.networks.length} build network(s) ${reaped.networks.join(', ')}` : '',
    reaped.containers.length ? `${reaped.containers.length} step container(s)` : '',
    reaped.chains.length ? `firewall chain(s) ${reaped.chains.join(', ')}` : '',
    reaped.cgroups.length ? `cgroup(s) ${reaped.cgroups.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : null;
}
