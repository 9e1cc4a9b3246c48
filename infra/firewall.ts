/**
 * An internal docker network has no route to the internet, but its containers can still open
 * connections to the host itself (through the bridge's gateway address). For evaluation networks we
 * drop every NEW connection that enters the host from the bridge; the harness's own connections to the
 * container are host-initiated, so their replies (ESTABLISHED) still pass.
 */
import { execa } from 'execa';

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
