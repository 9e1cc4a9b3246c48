/**
 * An internal docker network has no route to the internet, but its containers can still open
 * connections to the host itself (through the bridge's gateway address). For evaluation networks we
 * drop every NEW connection that enters the host from the bridge; the harness's own connections to the
 * container are host-initiated, so their replies (ESTABLISHED) still pass.
 *
 * Build networks (one per build, see activities/host/build.ts) need the internet for `pip install`
 * and nothing else. The same INPUT rule keeps their RUN steps off the host (every address of it: the
 * gateway, docker0, the host's own interfaces). A chain of their own, jumped to from DOCKER-USER for NEW
 * connections forwarded out of the bridge, refuses the private ranges and link-local (the cloud metadata
 * service 169.254.169.254): see buildChainRules. What a build may still reach there is allowed first, to the
 * exact address and port: the host's DNS resolvers (port 53; Docker's embedded DNS forwards a container's
 * queries from the container's own network namespace) and the operator's CHALLENGE_BUILD_EGRESS_ALLOW.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';

const rule = (bridge: string) => ['INPUT', '-i', bridge, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'];

export async function blockContainersToHost(bridge: string): Promise<void> {
  const present = await execa('iptables', ['-C', ...rule(bridge)], { reject: false });
  if (present.exitCode === 0) return;
  const added = await execa('iptables', ['-I', ...rule(bridge)], { reject: false, all: true });
  if (added.exitCode !== 0) throw new Error(`cannot isolate ${bridge} from the host with iptables: ${added.all}`);
}

export async function unblockContainersToHost(bridge: string): Promise<void> {
  while ((await execa('iptables', ['-D', ...rule(bridge)], { reject: false })).exitCode === 0) {
    /* remove every copy */
  }
}

// ---------------------------------------------------------------------------------------------------
// Build networks

/** Destinations no build step may open a connection to, beyond the host itself. */
export const BUILD_BLOCKED_RANGES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10', // carrier-grade NAT, used by some clouds for internal services
  '169.254.0.0/16', // link-local: the instance metadata service (169.254.169.254)
] as const;

/** A destination a build may reach although it lies in a blocked range. */
export interface EgressAllow {
  /** IPv4 address or CIDR. */
  address: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

/** The chain of one build bridge (iptables chain names are at most 28 characters; bridges are br-<12 hex>). */
export const buildChainName = (bridge: string): string => `CHALLENGE-${bridge}`.slice(0, 28);

/** The IPv4 name servers of a resolv.conf (those Docker's embedded DNS forwards a build's lookups to). */
export function resolversOf(resolvConf: string): string[] {
  const servers: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (m && !m[1]!.startsWith('127.')) servers.push(m[1]!);
  }
  return [...new Set(servers)];
}

/** The host's DNS resolvers (Docker uses the host's /etc/resolv.conf for containers on user-defined networks). */
export function hostResolvers(file = '/etc/resolv.conf'): string[] {
  try {
    return resolversOf(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * The rules of a build bridge's chain, in order (arguments after `-A <chain>`): what is allowed returns to
 * Docker's own rules, every blocked range is refused with an ICMP "administratively prohibited" (the step
 * fails at once, "No route to host", instead of waiting for a timeout), the rest (the internet) returns.
 */
export function buildChainRules(allow: readonly EgressAllow[], resolvers: readonly string[]): string[][] {
  const rules: string[][] = [];
  for (const resolver of resolvers) for (const protocol of ['udp', 'tcp']) rules.push(['-d', resolver, '-p', protocol, '--dport', '53', '-j', 'RETURN']);
  for (const entry of allow) rules.push(['-d', entry.address, '-p', entry.protocol, '--dport', String(entry.port), '-j', 'RETURN']);
  for (const range of BUILD_BLOCKED_RANGES) rules.push(['-d', range, '-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited']);
  return rules;
}

const jumpRule = (bridge: string) => ['DOCKER-USER', '-i', bridge, '-m', 'conntrack', '--ctstate', 'NEW', '-j', buildChainName(bridge)];
const openPortRule = (bridge: string, address: string, port: number) => [
  'INPUT',
  '-i',
  bridge,
  '-d',
  address,
  '-p',
  'tcp',
  '--dport',
  String(port),
  '-m',
  'conntrack',
  '--ctstate',
  'NEW',
  '-j',
  'ACCEPT',
];

async function iptables(args: string[]) {
  return execa('iptables', ['-w', ...args], { reject: false, all: true });
}

async function mustIptables(args: string[], what: string): Promise<void> {
  const result = await iptables(args);
  if (result.exitCode !== 0) throw new Error(`cannot ${what} with iptables (iptables ${args.join(' ')}): ${result.all}`);
}

/**
 * Sandboxes a build network's bridge: no NEW connection to the host, to the private ranges or to link-local;
 * the internet, the host's DNS resolvers and `allow` stay reachable. Idempotent: the chain is rebuilt from
 * scratch and the jumps are added once. Throws when the rules cannot be put in place (no build may then run).
 */
export async function sandboxBuildNetwork(bridge: string, allow: readonly EgressAllow[] = [], resolvers: readonly string[] = hostResolvers()): Promise<void> {
  const chain = buildChainName(bridge);
  if ((await iptables(['-n', '-L', chain])).exitCode !== 0) {
    const created = await iptables(['-N', chain]);
    if (created.exitCode !== 0 && !/exists/i.test(created.all ?? '')) throw new Error(`cannot create the iptables chain ${chain}: ${created.all}`);
  }
  await mustIptables(['-F', chain], `empty the chain ${chain}`);
  for (const r of buildChainRules(allow, resolvers)) await mustIptables(['-A', chain, ...r], `sandbox the build bridge ${bridge}`);
  if ((await iptables(['-C', ...jumpRule(bridge)])).exitCode !== 0) {
    await mustIptables(['-I', ...jumpRule(bridge)], `send ${bridge}'s forwarded connections through ${chain} (is Docker's DOCKER-USER chain there?)`);
  }
  await blockContainersToHost(bridge);
}

/** Lets the build bridge reach one TCP port of the host (the build's secrets endpoint); above the INPUT drop. */
export async function openHostPortToBuild(bridge: string, address: string, port: number): Promise<void> {
  if ((await iptables(['-C', ...openPortRule(bridge, address, port)])).exitCode === 0) return;
  await mustIptables(['-I', ...openPortRule(bridge, address, port)], `open ${address}:${port} to ${bridge}`);
}

export async function closeHostPortToBuild(bridge: string, address: string, port: number): Promise<void> {
  while ((await iptables(['-D', ...openPortRule(bridge, address, port)])).exitCode === 0) {
    /* remove every copy */
  }
}

/** Packets each refusing rule of a build bridge's chain matched so far (the address range → packets); {} without the chain. */
export async function buildChainCounters(bridge: string): Promise<Record<string, number>> {
  const listed = await iptables(['-n', '-v', '-x', '-L', buildChainName(bridge)]);
  const counters: Record<string, number> = {};
  if (listed.exitCode !== 0) return counters;
  for (const line of (listed.stdout ?? '').split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[2] === 'REJECT' || cols[2] === 'DROP') counters[cols[8] ?? '?'] = Number(cols[0]);
  }
  return counters;
}

/**
 * What the sandbox of a build bridge refused so far: the packets of each refusing rule of its chain (range →
 * packets) and, as `host`, those of the INPUT rule that drops its NEW connections to the host. {} without the chain.
 */
export async function buildRefusalCounters(bridge: string): Promise<Record<string, number>> {
  const counters = await buildChainCounters(bridge);
  const listed = await iptables(['-n', '-v', '-x', '-L', 'INPUT']);
  for (const line of (listed.stdout ?? '').split('\n')) {
    const cols = line.trim().split(/\s+/); // pkts bytes target prot opt in out source destination [state]
    if (cols[2] === 'DROP' && cols[5] === bridge && line.includes('ctstate NEW')) counters.host = (counters.host ?? 0) + Number(cols[0]);
  }
  return counters;
}

/** Removes every rule sandboxBuildNetwork (and openHostPortToBuild) put in place for `bridge`, and its chain. */
export async function unsandboxBuildNetwork(bridge: string): Promise<void> {
  while ((await iptables(['-D', ...jumpRule(bridge)])).exitCode === 0) {
    /* remove every copy */
  }
  const chain = buildChainName(bridge);
  await iptables(['-F', chain]);
  await iptables(['-X', chain]);
  // the open ports of this bridge (ACCEPT rules on INPUT -i bridge)
  const listed = await iptables(['-S', 'INPUT']);
  for (const line of (listed.stdout ?? '').split('\n')) {
    if (!line.startsWith('-A INPUT ') || !line.includes(` -i ${bridge} `) || !line.endsWith('-j ACCEPT')) continue;
    await iptables(['-D', ...line.slice(3).trim().split(/\s+/)]);
  }
  await unblockContainersToHost(bridge);
}
