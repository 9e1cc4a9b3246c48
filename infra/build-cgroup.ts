/**
 * The process limit of a build. The legacy builder has no --pids-limit, so every RUN step of a build runs under
 * a cgroup parent of the build's own whose pids limit bounds them all. Where that parent lives depends on the
 * engine's hierarchy (`docker info`: CgroupVersion, CgroupDriver):
 *   - cgroupfs driver, cgroup v1: /sys/fs/cgroup/pids/<name> with pids.max; `--cgroup-parent /<name>`;
 *   - cgroupfs driver, cgroup v2: /sys/fs/cgroup/<name> with pids.max (the pids controller enabled for the
 *     root's children); `--cgroup-parent /<name>`;
 *   - systemd driver (v1 or v2, current Debian and Ubuntu): a transient slice `<name>.slice` (dashes become
 *     underscores: a dash means nesting to systemd) started through systemd's D-Bus API with TasksMax, which
 *     systemd writes as the slice's pids.max; `--cgroup-parent <name>.slice`, stopped afterwards.
 * Without a limit no build starts (the host worker refuses to start, openBuildSandbox throws), unless the
 * operator opts out by name: CHALLENGE_BUILD_NO_PROCESS_LIMIT=1.
 */
import { execa } from 'execa';
import { readEnvironment } from './environment.js';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The variable by which an operator lets builds run without a process limit. */
export const NO_PROCESS_LIMIT_VARIABLE = 'CHALLENGE_BUILD_NO_PROCESS_LIMIT';

export interface EngineCgroups {
  version: string;
  driver: string;
}

let asked: Promise<EngineCgroups> | null = null;
/** The engine's cgroup version and driver (`docker info --format '{{.CgroupVersion}} {{.CgroupDriver}}'`), asked once. */
export function engineCgroups(): Promise<EngineCgroups> {
  asked ??= execa('docker', ['info', '--format', '{{.CgroupVersion}} {{.CgroupDriver}}'], { reject: false }).then((r) => {
    const [version = '', driver = ''] = String(r.stdout ?? '').trim().split(/\s+/);
    return { version, driver };
  });
  return asked;
}

/** Whether the operator opted out of the build process limit (CHALLENGE_BUILD_NO_PROCESS_LIMIT=1 or true). */
export function processLimitOptedOut(env?: Record<string, string | undefined>): boolean {
  const value = readEnvironment('build', env)[NO_PROCESS_LIMIT_VARIABLE];
  return value === '1' || value === 'true';
}

/** Where a build's process limit goes on an engine, and the `--cgroup-parent` that puts its steps under it. */
export type BuildCgroupPlan =
  | { kind: 'cgroupfs-v1' | 'cgroupfs-v2'; parent: string; dir: string }
  | { kind: 'systemd-slice'; parent: string; unit: string }
  | { kind: 'none'; reason: string };

/** The plan for build `name` on an engine with `cgroups` (pure: no file or process is touched). */
export function planBuildCgroup(name: string, cgroups: EngineCgroups, root = CGROUP_ROOT): BuildCgroupPlan {
  if (cgroups.driver === 'systemd') {
    const unit = `${name.replace(/-/g, '_')}.slice`;
    return { kind: 'systemd-slice', parent: unit, unit };
  }
  if (cgroups.driver === 'cgroupfs' && cgroups.version === '1') return { kind: 'cgroupfs-v1', parent: `/${name}`, dir: path.join(root, 'pids', name) };
  if (cgroups.driver === 'cgroupfs' && cgroups.version === '2') return { kind: 'cgroupfs-v2', parent: `/${name}`, dir: path.join(root, name) };
  return { kind: 'none', reason: `the Docker engine reports cgroup version "${cgroups.version}" with the "${cgroups.driver}" driver, which this platform cannot bound` };
}

/** A sentence on the hierarchy, for logs and the test output: "cgroup v1, cgroupfs driver: pids.max of /sys/fs/cgroup/pids/<name>". */
export function describePlan(plan: BuildCgroupPlan, cgroups: EngineCgroups): string {
  const engine = `cgroup v${cgroups.version}, ${cgroups.driver} driver`;
  if (plan.kind === 'systemd-slice') return `${engine}: TasksMax of the transient slice ${plan.unit}`;
  if (plan.kind === 'none') return `${engine}: no process limit (${plan.reason})`;
  return `${engine}: pids.max of ${plan.dir}`;
}

async function startSlice(unit: string, pids: number): Promise<void> {
  // StartTransientUnit(name, mode, properties a(sv), aux a(sa(sv))): a slice with no processes yet, TasksMax set.
  const call = await execa(
    'busctl',
    [
      'call',
      'org.freedesktop.systemd1',
      '/org/freedesktop/systemd1',
      'org.freedesktop.systemd1.Manager',
      'StartTransientUnit',
      'ssa(sv)a(sa(sv))',
      unit,
      'fail',
      '2',
      'TasksMax',
      't',
      String(pids),
      'Description',
      's',
      'challenge build sandbox (process limit of one build)',
      '0',
    ],
    { reject: false, all: true },
  );
  if (call.exitCode !== 0) throw new Error(`cannot start the systemd slice ${unit} with TasksMax=${pids} (busctl StartTransientUnit): ${String(call.all ?? '').trim()}`);
  const shown = await execa('systemctl', ['show', '-p', 'TasksMax', '--value', unit], { reject: false });
  if (String(shown.stdout ?? '').trim() !== String(pids)) throw new Error(`the systemd slice ${unit} has TasksMax=${String(shown.stdout ?? '').trim()}, not ${pids}`);
}

/**
 * Puts the process limit of build `name` in place; returns the `--cgroup-parent`, or null with a note where the
 * operator opted out. Throws when no limit can be put in place (no build then runs).
 */
export async function createBuildCgroup(name: string, pids: number): Promise<{ parent: string | null; note: string | null; plan: BuildCgroupPlan }> {
  const cgroups = await engineCgroups();
  const plan = planBuildCgroup(name, cgroups);
  try {
    if (plan.kind === 'none') throw new Error(plan.reason);
    if (plan.kind === 'systemd-slice') await startSlice(plan.unit, pids);
    else {
      if (plan.kind === 'cgroupfs-v2') {
        const control = path.join(CGROUP_ROOT, 'cgroup.subtree_control');
        if (!readFileSync(control, 'utf8').split(/\s+/).includes('pids')) writeFileSync(control, '+pids');
      }
      mkdirSync(plan.dir, { recursive: true });
      writeFileSync(path.join(plan.dir, 'pids.max'), String(pids));
    }
    return { parent: plan.parent, note: null, plan };
  } catch (error) {
    if (!processLimitOptedOut()) {
      throw new Error(`the process limit of builds cannot be put in place (${describePlan(plan, cgroups)}): ${(error as Error).message}; set ${NO_PROCESS_LIMIT_VARIABLE}=1 to build without one`);
    }
    return { parent: null, note: `${NO_PROCESS_LIMIT_VARIABLE}=1: builds run without a process limit (${(error as Error).message})`, plan };
  }
}

/** Every cgroup directory of build `name`, in every hierarchy (v1 controllers, v2), that exists. */
export function buildCgroupDirs(name: string, root = CGROUP_ROOT): string[] {
  let controllers: string[] = [];
  try {
    controllers = readdirSync(root);
  } catch {
    return [];
  }
  return [path.join(root, name), ...controllers.map((controller) => path.join(root, controller, name))].filter((dir) => existsSync(dir));
}

/** Removes the process limit of build `name`: its slice (systemd) or its cgroup directories (empty once the build ended). */
export async function removeBuildCgroup(name: string): Promise<void> {
  const plan = planBuildCgroup(name, await engineCgroups());
  if (plan.kind === 'systemd-slice') await execa('systemctl', ['stop', plan.unit], { reject: false });
  const dirs = buildCgroupDirs(name);
  for (let attempt = 0; attempt < 20 && dirs.some((dir) => existsSync(dir)); attempt++) {
    for (const dir of dirs) {
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch {
        /* a step's container is still being removed: try again */
      }
    }
    if (dirs.some((dir) => existsSync(dir))) await new Promise((r) => setTimeout(r, 250));
  }
}

/** The names of the builds' cgroups (cgroupfs) and slices (systemd) on this machine starting with `prefix`. */
export async function buildCgroupsNamed(prefix: string, root = CGROUP_ROOT): Promise<string[]> {
  const names = new Set<string>();
  const dirs = [root, ...(existsSync(root) ? readdirSync(root).map((c) => path.join(root, c)) : [])];
  for (const dir of dirs) {
    try {
      for (const entry of readdirSync(dir)) if (entry.startsWith(prefix)) names.add(entry);
    } catch {
      /* not a directory, or unreadable */
    }
  }
  const slices = await execa('systemctl', ['list-units', '--type=slice', '--all', '--plain', '--no-legend', `${prefix.replace(/-/g, '_')}*`], { reject: false });
  for (const line of String(slices.stdout ?? '').split('\n')) {
    const unit = line.trim().split(/\s+/)[0] ?? '';
    if (unit.endsWith('.slice')) names.add(unit.replace(/\.slice$/, '').replace(/_/g, '-'));
  }
  return [...names].map((n) => n.replace(/\.slice$/, '').replace(/_/g, '-')).filter((n) => n.startsWith(prefix));
}

/**
 * Whether builds on this engine get a process limit, tried for real with a probe cgroup (or slice) made and
 * removed again: `refused` holds why, where none can be made and the operator did not opt out (the host worker
 * then refuses to start); `note` says so where the operator did.
 */
export async function probeBuildProcessLimit(name = `challenge-build-probe-${process.pid}`): Promise<{ description: string; refused: string | null; note: string | null }> {
  const cgroups = await engineCgroups();
  try {
    const made = await createBuildCgroup(name, 64);
    return { description: describePlan(made.plan, cgroups), refused: null, note: made.note };
  } catch (error) {
    return { description: describePlan(planBuildCgroup(name, cgroups), cgroups), refused: (error as Error).message, note: null };
  } finally {
    await removeBuildCgroup(name);
  }
}
