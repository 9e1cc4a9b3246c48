/** `challenge hosts`: every GPU host that has run a worker, its slots, when it was last seen and whether it counts as alive. */
import type { Command } from 'commander';
import { z } from 'zod';
import { ACTIVITY_POLICY, Duration } from '../../temporal.config.js';
import { formatDuration } from '../../domain/units.js';
import { textTable } from '../../domain/text-table.js';
import { hostLiveness } from '../../infra/results-store.js';
import { EXIT, TrackValue, action, checkedOptions, runtimeConfig, withResultsStore } from '../command-kit.js';

const HostsFlags = z.object({ track: TrackValue.optional(), goneAfter: Duration, json: z.boolean().default(false) });

async function hostsCommand(options: unknown): Promise<number> {
  const flags = checkedOptions(HostsFlags, options);
  return withResultsStore(runtimeConfig(), async (db) => {
    const now = Date.now();
    const hosts = (await db.hosts(flags.track)).map((host) => ({ ...host, ...hostLiveness(host, now, flags.goneAfter) }));
    if (flags.json) {
      console.log(JSON.stringify(hosts, null, 2));
      return EXIT.ok;
    }
    if (hosts.length === 0) {
      const where = `${db.location}${flags.track ? ` for track ${flags.track}` : ''}`;
      console.log(`no GPU host has recorded itself in ${where}; start one with: node dist/workers/gpu-host.js --track <id>`);
      return EXIT.ok;
    }
    const rows = hosts.map((h) => [
      h.hostId,
      h.track,
      String(h.slots),
      h.lastSeen,
      h.alive ? 'alive' : `gone (silent ${formatDuration(Math.round(h.silentForMs / 1000) * 1000 || 1000)})`,
    ]);
    console.log(textTable(['host', 'track', 'slots', 'last seen', 'state'], rows).join('\n'));
    return EXIT.ok;
  });
}

export function registerHostsCommand(program: Command): void {
  program
    .command('hosts')
    .description('the GPU hosts, their slots, and whether each is alive')
    .option('--track <id>', 'only the hosts of this track')
    .option('--gone-after <dur>', 'how long a silent host counts as alive (what pipelines use)', formatDuration(ACTIVITY_POLICY.hostGoneAfterMs))
    .option('--json', 'print the hosts as JSON')
    .addHelpText(
      'after',
      `
Every GPU host that has run a worker: its track, GPU slots, when it last recorded itself alive, and
whether it counts as alive. A host silent for --gone-after (default ACTIVITY_POLICY.hostGoneAfterMs,
what pipelines use) loses its submissions to another host.`,
    )
    .action(action(hostsCommand));
}
