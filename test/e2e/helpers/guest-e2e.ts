// Shared pieces of the e2e suites that convert a guest root loop-mounted on this machine: whether the
// suite can run here, running each module as the engine would (test/helpers/run-module.ts) timed as a
// step, keeping the .debs apt fetched between runs, checking what a chroot session leaves behind,
// handing the converted kernel to lab/boot-check.ts, and the suite's teardown.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DirectKernelBoot } from '../../../lab/boot-check.js';
import { mountsUnder } from '../../../lab/rootfs.js';
import type { TaskModule } from '../../../runner/module.js';
import type { Transport } from '../../../runner/transport/types.js';
import type { SshdHost } from '../../harness/sshd.js';
import { runModule } from '../../helpers/run-module.js';

/** Runs a shell script here with positional arguments (never interpolated into the script); returns trimmed stdout. */
export const sh = (script: string, ...args: string[]): string => execFileSync('sh', ['-c', script, 'sh', ...args], { maxBuffer: 64 << 20 }).toString().trim();

/** The tools in `tools` that are not on PATH. */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0);
}

/**
 * Why a guest e2e suite cannot run here, or undefined when it can: a tool in `tools` is missing
 * (`install` says how to get them), FERRY_SKIP_E2E is set (`unsetTo` says what the suite would do), or not root.
 */
export function guestSuiteSkipReason(tools: string[], install: string, unsetTo: string): string | undefined {
  const missing = missingTools(tools);
  if (missing.length) return `missing ${missing.join(', ')} (${install})`;
  if (process.env.FERRY_SKIP_E2E) return `FERRY_SKIP_E2E is set (unset it to ${unsetTo})`;
  if (process.getuid?.() !== 0) return 'it needs root (loop devices, mount, chroot)';
  return undefined;
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

/** Runs one module (check mode: plan only) and records its time as step `label`. */
export type TimedModuleRun = <P>(mod: TaskModule<P>, input: Record<string, unknown>, label: string, opts?: { check?: boolean }) => ReturnType<typeof runModule<P>>;

/** A suite's module runner: runModule over the transport `transport()` gives (made in the suite's before hook), timed by `timer`. */
export function timedModuleRun(timer: StepTimer, transport: () => Transport): TimedModuleRun {
  return (mod, input, label, opts = {}) => timer.timed(label, () => runModule(mod, input, { transport: transport(), check: opts.check }));
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

/** dpkg's status of `pkg` in the guest root `root` (`ii` when installed), or `none` when dpkg does not know it. */
export const packageState = (root: string, pkg: string): string => inGuest(root, 'dpkg-query -W -f "\\${db:Status-Abbrev}" "$1" 2>/dev/null || echo none', pkg);

/** Unmounts everything at and under `root` (deepest first), then detaches the loop device `loop`. */
export function unmountAndDetach(root: string, loop: string): void {
  for (const m of mountsUnder(root).sort((a, b) => b.length - a.length)) sh('umount "$1"', m);
  sh('losetup -d "$1"', loop);
}

/** Asserts what every chroot session must leave in the guest root `root`: no binds, no policy-rc.d, no file moved aside in /etc. */
export function assertChrootSessionUndone(root: string): void {
  assert.deepEqual(mountsUnder(root).filter((m) => m !== resolve(root)), []);
  assert.ok(!existsSync(join(root, 'usr/sbin/policy-rc.d')), 'policy-rc.d removed');
  assert.ok(!readdirSync(join(root, 'etc')).some((f) => f.endsWith('.ferry-saved')), 'nothing left moved aside in /etc');
}

/**
 * Copies kernel `kernel`'s vmlinuz and initrd.img out of the guest root `root` into `dir` (the guest's
 * disk is detached while it boots) and returns them as a direct kernel boot with command line `append`.
 */
export function guestKernelBoot(root: string, kernel: string, dir: string, append: string): DirectKernelBoot {
  mkdirSync(dir, { recursive: true });
  const boot = { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), append };
  copyFileSync(join(root, 'boot', `vmlinuz-${kernel}`), boot.kernel);
  copyFileSync(join(root, 'boot', `initrd.img-${kernel}`), boot.initrd);
  return boot;
}

/**
 * Ends a guest suite: `release` lets go of the guest's disk (a failure is only warned about, as
 * `could not <what>`, so the rest still happens), then the transport is closed, the sshd stopped and `dir` removed.
 */
export async function endGuestSuite(o: { release: () => void; what: string; transport: Transport | undefined; host: SshdHost | undefined; dir: string }): Promise<void> {
  try {
    o.release();
  } catch (e) {
    console.warn(`    could not ${o.what}: ${(e as Error).message}`);
  }
  await o.transport?.close().catch(() => undefined);
  await o.host?.stop();
  if (o.dir) rmSync(o.dir, { recursive: true, force: true });
}
