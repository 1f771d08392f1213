// Shared pieces of the e2e suites that convert a guest root loop-mounted on this machine: running a
// module as the engine would (plan, then apply unless check mode), timing each step, and keeping
// the .debs apt fetched between runs. (Booting the result: lab/boot-check.ts.)
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runSteps, type Plan, type TaskModule } from '../../../runner/module.js';
import { createTaskContext } from '../../../runner/task-context.js';
import type { Transport } from '../../../runner/transport/types.js';

/** Runs a shell script here with positional arguments (never interpolated into the script); returns trimmed stdout. */
export const sh = (script: string, ...args: string[]): string => execFileSync('sh', ['-c', script, 'sh', ...args], { maxBuffer: 64 << 20 }).toString().trim();

/** The tools in `tools` that are not on PATH. */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0);
}

/** Step timings, printed by the suite at the end. */
export class StepTimer {
  readonly steps: { step: string; seconds: number }[] = [];

  async timed<T>(step: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      this.steps.push({ step, seconds: (Date.now() - t0) / 1000 });
    }
  }

  print(): void {
    if (!this.steps.length) return;
    console.log('\n      step times:');
    for (const t of this.steps) console.log(`      ${t.seconds.toFixed(1).padStart(6)} s  ${t.step}`);
    console.log(`      ${this.steps.reduce((a, t) => a + t.seconds, 0).toFixed(1).padStart(6)} s  in all`);
  }
}

/** Validates, plans (check mode: plan only) and applies one module over `transport`, as the engine does. */
export async function runModule<P>(
  transport: Transport,
  mod: TaskModule<P>,
  input: Record<string, unknown>,
  opts: { check?: boolean } = {},
): Promise<{ plan: Plan; data: Record<string, unknown> }> {
  const params = mod.params.parse(input);
  const ctx = createTaskContext({ host: transport.host, transport, check: opts.check ?? false });
  const plan = await mod.plan(ctx, params);
  if (!plan.changed || opts.check) return { plan, data: plan.data ?? {} };
  const data = mod.apply ? await mod.apply(ctx, params, plan) : await runSteps(ctx, plan.steps);
  return { plan, data };
}

/** Runs a shell script inside the guest root `root` (chroot), with positional arguments. */
export const inGuest = (root: string, script: string, ...args: string[]): string => sh('r="$1"; shift; chroot "$r" /bin/sh -c "$@"', root, script, 'sh', ...args);

/**
 * Keeps the .debs apt fetched into a guest between runs, in `cache` on this machine: seed() puts
 * them into the guest's apt cache (apt checks each against the mirror's index before using it),
 * keep() saves those of installed packages, dropping the cached ones no longer installed (stale versions).
 */
export function debCache(cache: string, root: string): { seed(): void; keep(prune: boolean): void } {
  const archives = join(root, 'var/cache/apt/archives');
  return {
    seed() {
      if (!existsSync(cache)) return;
      for (const f of readdirSync(cache).filter((x) => x.endsWith('.deb'))) {
        if (!existsSync(join(archives, f))) copyFileSync(join(cache, f), join(archives, f));
      }
    },
    keep(prune) {
      mkdirSync(cache, { recursive: true });
      // apt names its files PACKAGE_VERSION_ARCH.deb with the epoch's ':' as %3a
      const installed = new Set(inGuest(root, 'dpkg-query -W -f "\\${Package}_\\${Version}\\n"').split('\n').map((l) => l.replace(/:/g, '%3a')));
      const key = (f: string): string => f.split('_').slice(0, 2).join('_');
      for (const f of readdirSync(archives).filter((x) => x.endsWith('.deb') && installed.has(key(x)))) {
        if (!existsSync(join(cache, f))) copyFileSync(join(archives, f), join(cache, f));
      }
      if (prune) for (const f of readdirSync(cache)) if (!installed.has(key(f))) rmSync(join(cache, f));
    },
  };
}

/** Mount points strictly under `root` (binds a chroot session left behind). */
export function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${root}/`));
}
