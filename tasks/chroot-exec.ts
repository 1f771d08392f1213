// chroot_exec: run a command inside a guest root (a mounted guest filesystem), with the API
// filesystems bound, daemons kept from starting, and a working resolv.conf — all undone after.
import { z } from 'zod';
import { sh, shellText } from '../runner/command.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { chrootCommand } from '../runner/transport/chroot.js';
import { chrootBindsRefusal, readChrootBinds, type ChrootBindFacts } from './guest/chroot-binds.js';
import { withGuestChroot } from './guest/chroot-session.js';
import { openGuestRoot } from './guest/facts.js';
import { guardVerdict, readGuard, runAsTask, type GuardFacts } from './lib/run-command.js';
import { pathField } from './lib/schema.js';

const params = z
  .strictObject({
    root: pathField('The guest root on the host (a mounted guest filesystem), e.g. /mnt/xr1'),
    cmd: z.string().min(1).optional().describe("A shell command line run by the guest's /bin/sh: globs, pipes and redirections see the guest's files"),
    argv: z.array(z.string()).min(1).optional().describe('The program and its arguments as a list (exclusive with cmd); no shell expansion'),
    chdir: z.string().min(1).optional().describe('Directory inside the guest to run in'),
    policy_rc_d: z.boolean().default(true).describe('Debian family: write /usr/sbin/policy-rc.d (exit 101) so package scripts start no daemons; removed (or the guest\'s own restored) afterwards'),
    resolv_conf: z
      .enum(['copy', 'keep', 'none'])
      .default('copy')
      .describe("copy: the host's resolv.conf during the command (the guest's restored after); keep: the guest's as it is; none: no resolv.conf during the command"),
    mounts: z.boolean().default(true).describe('Bind /dev, /dev/pts, /proc, /sys, /run into root for the command (unmounted after)'),
    creates: z.string().min(1).optional().describe('Do nothing when this guest path exists'),
    removes: z.string().min(1).optional().describe('Do nothing unless this guest path exists'),
    env: z.record(z.string(), z.string()).optional().describe('Environment variables for the command'),
  })
  .refine((p) => (p.cmd === undefined) !== (p.argv === undefined), { message: 'give exactly one of cmd and argv' })
  .refine((p) => p.root.startsWith('/'), { message: 'root must be an absolute path', path: ['root'] });

type Params = z.output<typeof params>;

/** What chroot_exec's read found: the creates/removes guard (inside the guest) and, with mounts, the chroot binds when the command will run. */
export interface ChrootExecFacts {
  guard: GuardFacts;
  binds?: ChrootBindFacts;
}

/**
 * Reads the guard inside the guest root (refusing a root that is not a mounted guest) and, when the guard
 * lets the command run, the binds' facts; mounts nothing.
 */
async function readChrootExec(ctx: TaskContext, p: Params): Promise<ChrootExecFacts> {
  const guard = await readGuard(await openGuestRoot(ctx, p.root), { creates: p.creates, removes: p.removes });
  return { guard, ...(p.mounts && !guardVerdict(p, guard) ? { binds: await readChrootBinds(ctx, p.root) } : {}) };
}

/** Decides chroot_exec (pure): no change when the guard says so, a refusal when the binds could not be mounted, else the command in a chroot session. */
export function decideChrootExec(p: Params, f: ChrootExecFacts): Verdict {
  const skip = guardVerdict(p, f.guard);
  if (skip) return skip;
  const refused = f.binds && chrootBindsRefusal(p.root, f.binds);
  if (refused) return { refused };
  const cmd = p.cmd !== undefined ? shellText(p.cmd) : sh`${p.argv!}`;
  return {
    changed: true,
    steps: [
      {
        title: `run in chroot ${p.root}: ${cmd.display}`,
        cmd: chrootCommand(p.root, cmd, { ...(p.env ? { env: p.env } : {}), ...(p.chdir !== undefined ? { cwd: p.chdir } : {}) }),
        // the escape hatch: the command runs in a chroot session (binds, policy-rc.d, resolv.conf), undone after it, also when it fails
        run: (c) =>
          withGuestChroot(c, p.root, { mounts: p.mounts, policyRcD: p.policy_rc_d, resolvConf: p.resolv_conf }, (g) =>
            runAsTask(p.env ? { ...g, run: (x, o) => g.run(x, { ...o, env: p.env }) } : g, cmd, { chdir: p.chdir }),
          ),
      },
    ],
  };
}

export const chrootExecModule = defineModule({
  name: 'chroot_exec',
  runsEveryTime: true,
  params,
  freeForm: 'cmd',
  doc: {
    summary: 'Run a command inside a guest root, with /dev, /proc, /sys, /run bound and daemons kept from starting',
    description:
      'The command runs as `chroot ROOT /bin/sh -c CMD`, so a glob like /tmp/debs/*.deb expands against the guest. ' +
      'Before it: the API filesystems are bind-mounted (those already mounted are left alone), a Debian-family guest ' +
      'gets /usr/sbin/policy-rc.d (exit 101) and the host resolv.conf is put in place. After it — also when it failed — ' +
      'all of that is undone in reverse order and the guest\'s own files are restored. A non-zero exit fails the task. ' +
      'A leftover *.ferry-saved file from an interrupted run is refused with a hint.',
    checkMode: 'partial',
    checkModeNote: 'reports that it would run unless creates/removes (checked inside the guest) say there is nothing to do',
    result: { stdout: 'standard output', stderr: 'standard error', rc: 'exit status', delta: 'duration' },
    example: ['- chroot_exec:', '    root: /mnt/xr1', '    cmd: dpkg -i /tmp/debs/*.deb', '    creates: /usr/sbin/grub-install'].join('\n'),
  },
  read: readChrootExec,
  decide: decideChrootExec,
});
