/**
 * What the host activities need of a container engine, as one interface: the activities get it through their
 * deps (activities/host/context.ts), so their unit tests run against a fake with no engine. The Docker
 * implementation below adds nothing: each member is the infra/docker.ts function of the same name, and the
 * evaluation network adds infra/firewall.ts's rule that keeps the network's containers off the host.
 */
import * as docker from './docker.js';
import type { BuildOptions, BuildResult, ContainerState, Labels, OpenBuildSandbox, RunSpec } from './docker.js';
import type { EgressAllow } from './firewall.js';
import { blockContainersToHost, unblockContainersToHost } from './firewall.js';

/** An internal network of one submission's evaluation, and the Linux bridge behind it (null where the engine hides it). */
export interface EvaluationNetwork {
  name: string;
  bridge: string | null;
}

export interface ContainerRuntime {
  /** The engine's root folder (images, containers, their logs); null when it does not answer. */
  dockerRootDir(): Promise<string | null>;
  /** Starts a detached container; returns its id. */
  runDetached(spec: RunSpec): Promise<string>;
  /** A missing container reads as `exists: false`, not as an error. */
  inspectContainer(name: string): Promise<ContainerState>;
  /**
   * The base URL at which this host reaches `port` of container `name` on `network` (Docker: the container's
   * address on that network); null when the container has no address there.
   */
  serviceUrl(name: string, network: string, port: number): Promise<string | null>;
  /** The last `tailLines` lines of a container's output (stdout and stderr). */
  containerLogs(name: string, tailLines: number): Promise<string>;
  killContainer(name: string): Promise<void>;
  /** Removes a container, running or not, with its anonymous volumes. */
  removeContainer(name: string): Promise<void>;
  /** Samples a running container's memory; `stop()` returns the peak seen (null where it cannot be read). */
  watchPeakMemory(name: string): { stop: () => Promise<number | null> };
  /** Names of containers carrying all of the given labels. */
  containersLabelled(labels: Labels): Promise<string[]>;
  containerLabel(name: string, key: string): Promise<string | null>;
  imageLabel(image: string, key: string): Promise<string | null>;
  /** The sandbox one build runs in (see infra/docker.ts openBuildSandbox); throws, having undone itself, when it cannot be set up. */
  openBuildSandbox(options: {
    name: string;
    limits: { memory: string; cpus: number; pids: number };
    egressAllow: readonly EgressAllow[];
    secrets: Record<string, string>;
  }): Promise<OpenBuildSandbox>;
  buildImage(options: BuildOptions): Promise<BuildResult>;
  /** Creates (or finds) an internal network whose containers cannot open connections to the host. */
  openEvaluationNetwork(name: string): Promise<EvaluationNetwork>;
  /** Takes an evaluation network down again; never throws. */
  closeEvaluationNetwork(network: EvaluationNetwork): Promise<void>;
}

/** The Docker engine this host's docker CLI talks to. */
export const dockerContainerRuntime: ContainerRuntime = {
  dockerRootDir: docker.dockerRootDir,
  runDetached: docker.runDetached,
  inspectContainer: docker.inspectContainer,
  async serviceUrl(name, network, port) {
    const ip = (await docker.inspectContainer(name)).ipAddresses[network];
    return ip ? `http://${ip}:${port}` : null;
  },
  containerLogs: docker.containerLogs,
  killContainer: docker.killContainer,
  removeContainer: docker.removeContainer,
  watchPeakMemory: (name) => docker.watchPeakMemory(name),
  containersLabelled: docker.containersLabelled,
  containerLabel: docker.containerLabel,
  imageLabel: docker.imageLabel,
  openBuildSandbox: docker.openBuildSandbox,
  buildImage: docker.buildImage,
  async openEvaluationNetwork(name) {
    await docker.ensureNetwork(name, true);
    const bridge = await docker.bridgeInterface(name);
    if (bridge) await blockContainersToHost(bridge);
    return { name, bridge };
  },
  async closeEvaluationNetwork(network) {
    if (network.bridge) await unblockContainersToHost(network.bridge).catch(() => undefined);
    await docker.removeNetwork(network.name).catch(() => undefined);
  },
};
