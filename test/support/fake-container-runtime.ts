/**
 * A container runtime without an engine, for unit tests of the host activities: a "container" is a record whose
 * state and output the test scripts (`onRun` decides what each started container does), and every call the
 * activity makes is recorded so a test can check what the product did (killed, logged, removed).
 */
import type { ContainerRuntime, EvaluationNetwork } from '../../infra/container-runtime.js';
import type { BuildResult, ContainerState, Labels, OpenBuildSandbox, RunSpec } from '../../infra/docker.js';

export interface FakeContainer {
  readonly spec: RunSpec;
  /** 0 for the first container started on this runtime, 1 for the next... */
  readonly index: number;
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  removed: boolean;
  killed: boolean;
  output: string[];
  /** What serviceUrl answers for this container (an in-process server the test started); null: no address. */
  url: string | null;
  peakMemoryBytes: number | null;
  /** Called when the activity kills the container (after `running` turned false). */
  onKill: (() => void | Promise<void>) | null;
  /** Ends the container as the process inside would: its status, and whether the engine's OOM killer did it. */
  exit(exitCode: number, options?: { oomKilled?: boolean }): void;
  print(text: string): void;
}

export class FakeContainerRuntime implements ContainerRuntime {
  readonly containers = new Map<string, FakeContainer>();
  /** Every call, as `method name` (in order). */
  readonly calls: string[] = [];
  readonly networks: { opened: string[]; closed: string[] } = { opened: [], closed: [] };

  /** `onRun` scripts each container as it starts (after it is recorded as running). */
  constructor(private readonly onRun: (container: FakeContainer) => void | Promise<void> = () => undefined) {}

  /** The containers in the order they were started. */
  started(): FakeContainer[] {
    return [...this.containers.values()].sort((a, b) => a.index - b.index);
  }

  async dockerRootDir(): Promise<string | null> {
    return null;
  }

  async runDetached(spec: RunSpec): Promise<string> {
    this.calls.push(`run ${spec.name}`);
    const container: FakeContainer = {
      spec,
      index: this.containers.size,
      running: true,
      exitCode: null,
      oomKilled: false,
      removed: false,
      killed: false,
      output: [],
      url: null,
      peakMemoryBytes: null,
      onKill: null,
      exit(exitCode, options = {}) {
        if (!this.running) return;
        this.running = false;
        this.exitCode = exitCode;
        this.oomKilled = options.oomKilled ?? false;
      },
      print(text) {
        this.output.push(text);
      },
    };
    this.containers.set(spec.name, container);
    await this.onRun(container);
    return `id-${spec.name}`;
  }

  private live(name: string): FakeContainer | null {
    const container = this.containers.get(name);
    return container && !container.removed ? container : null;
  }

  async inspectContainer(name: string): Promise<ContainerState> {
    const container = this.live(name);
    if (!container) return { exists: false, running: false, exitCode: null, oomKilled: false, startedAt: null, finishedAt: null, ipAddresses: {} };
    return {
      exists: true,
      running: container.running,
      exitCode: container.running ? null : container.exitCode,
      oomKilled: container.oomKilled,
      startedAt: 'started',
      finishedAt: container.running ? null : 'finished',
      ipAddresses: {},
    };
  }

  async serviceUrl(name: string): Promise<string | null> {
    return this.live(name)?.url ?? null;
  }

  async containerLogs(name: string, tailLines: number): Promise<string> {
    this.calls.push(`logs ${name}`);
    const lines = (this.live(name)?.output ?? []).join('').split('\n');
    return lines.slice(-tailLines).join('\n');
  }

  async killContainer(name: string): Promise<void> {
    this.calls.push(`kill ${name}`);
    const container = this.live(name);
    if (!container?.running) return;
    container.killed = true;
    container.exit(137);
    await container.onKill?.();
  }

  async removeContainer(name: string): Promise<void> {
    this.calls.push(`remove ${name}`);
    const container = this.live(name);
    if (!container) return;
    if (container.running) {
      container.exit(137);
      await container.onKill?.();
    }
    container.removed = true;
  }

  watchPeakMemory(name: string): { stop: () => Promise<number | null> } {
    return { stop: async () => this.containers.get(name)?.peakMemoryBytes ?? null };
  }

  async containersLabelled(labels: Labels): Promise<string[]> {
    return [...this.containers.values()]
      .filter((container) => !container.removed && Object.entries(labels).every(([key, value]) => container.spec.labels[key] === value))
      .map((container) => container.spec.name);
  }

  async containerLabel(name: string, key: string): Promise<string | null> {
    return this.live(name)?.spec.labels[key] ?? null;
  }

  async imageLabel(): Promise<string | null> {
    return null;
  }

  async openBuildSandbox(): Promise<OpenBuildSandbox> {
    throw new Error('the fake runtime does not build images');
  }

  async buildImage(): Promise<BuildResult> {
    throw new Error('the fake runtime does not build images');
  }

  async openEvaluationNetwork(name: string): Promise<EvaluationNetwork> {
    this.networks.opened.push(name);
    return { name, bridge: null };
  }

  async closeEvaluationNetwork(network: EvaluationNetwork): Promise<void> {
    this.networks.closed.push(network.name);
  }
}
