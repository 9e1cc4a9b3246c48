/**
 * What a build tried to reach that its sandbox refused, named for the failure reason. The build sandbox
 * (infra/firewall.ts) refuses every NEW connection of a RUN step to the build host and to the private and
 * link-local ranges; its rules count what they refused. A build that failed after such a refusal is the
 * participant's (BuildFailed, charged, not retried: domain/build-failures.ts rule `sandbox-refused`), and its
 * reason names the destination: the exact address (and port) where the log shows one inside a refused range,
 * else the range and what lies there. Pure: the counters come from the caller.
 */

/** What each refused range holds, said in the reason; `host` is the build host itself (the network's gateway). */
const RANGE_MEANING: Record<string, string> = {
  host: 'the build host itself',
  '10.0.0.0/8': 'a private network',
  '172.16.0.0/12': 'a private network',
  '192.168.0.0/16': 'a private network',
  '100.64.0.0/10': 'carrier-grade NAT, where clouds keep internal services',
  '169.254.0.0/16': 'link-local, where the cloud instance metadata service (169.254.169.254) answers',
};

/** Packets each refusing rule matched (range, or `host`, → packets), as read from the sandbox's counters. */
export type RefusalCounters = Record<string, number>;

/** The refusals of one build: the counters after it, less those before it (a sandbox serves both Dockerfiles). */
export function refusalsBetween(before: RefusalCounters, after: RefusalCounters): RefusalCounters {
  const moved: RefusalCounters = {};
  for (const [range, packets] of Object.entries(after)) {
    const delta = packets - (before[range] ?? 0);
    if (delta > 0) moved[range] = delta;
  }
  return moved;
}

function ipv4(text: string): number | null {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Whether IPv4 `address` lies in `cidr` (a.b.c.d/n). */
export function inRange(address: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const a = ipv4(address);
  const b = ipv4(base);
  const n = Number(bits);
  if (a === null || b === null || !Number.isInteger(n) || n < 0 || n > 32) return false;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return (a & mask) === (b & mask);
}

/** An IPv4 address in a log line and, where the line gives it, its port: `a.b.c.d:80`, `a.b.c.d port 80`, `host='a.b.c.d', port=80`. */
const ADDRESS = /(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])(?::(\d{1,5})\b| port (\d{1,5})\b|', port=(\d{1,5})\b|', (\d{1,5})\))?/g;

/**
 * The destinations a build was refused, for its reason: per moved counter, the addresses of the log inside that
 * range (`gateway` for `host`) with their port, e.g. "169.254.169.254:80 (link-local, where …)"; the range itself
 * when the log names no address in it. Empty when no counter moved.
 */
export function refusedDestinations(log: string, refused: RefusalCounters, gateway: string | null = null): string[] {
  const found = [...log.matchAll(ADDRESS)].map((m) => ({ address: m[1]!, port: m[2] ?? m[3] ?? m[4] ?? m[5] ?? null }));
  const named: string[] = [];
  for (const range of Object.keys(refused).sort()) {
    const meaning = RANGE_MEANING[range] ?? 'a range closed to builds';
    const inside = found.filter((f) => (range === 'host' ? f.address === gateway : range.includes('/') && inRange(f.address, range)));
    const addresses = [...new Set(inside.map((f) => (f.port ? `${f.address}:${f.port}` : f.address)))];
    // An address also seen with its port is named once, with the port.
    const distinct = addresses.filter((a) => a.includes(':') || !addresses.some((b) => b.startsWith(`${a}:`)));
    const what = distinct.length > 0 ? distinct.join(', ') : range === 'host' ? (gateway ?? 'the build network gateway') : range;
    named.push(`${what} (${meaning})`);
  }
  return named;
}

/** The address part of a destination named by refusedDestinations ("169.254.169.254:80 (…)" → "169.254.169.254"). */
export function destinationAddress(destination: string): string {
  return destination.split(/[ :]/)[0]!;
}
