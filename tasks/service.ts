// The `service` module (Ansible's ansible.builtin.service): start, stop, restart or reload a service
// and enable it at boot, with SysV init scripts (service(8), update-rc.d) or with systemd
// (systemctl), chosen by the host's service manager. decide is pure (test/fixtures/decide/service).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { managerSource, serviceManager, type Manager } from './lib/managers.js';
import { checkedBy } from './lib/schema.js';

/** Why `name` cannot name a service: it must be one file name in /etc/init.d, or a systemd unit name, never an option. */
export function serviceNameProblem(name: string): string | undefined {
  const bad = `'${name}' is not a service name`;
  if (name.startsWith('-')) return `${bad}: it starts with '-', so service, update-rc.d and systemctl would read it as an option`;
  if (!/^[A-Za-z0-9_.@:\\-]+$/.test(name) || name === '.' || name === '..') return `${bad}: a service name is letters, digits and _ . @ : \\ - (a file in /etc/init.d, or a systemd unit)`;
  return undefined;
}

const params = z
  .strictObject({
    name: z.string().superRefine(checkedBy(serviceNameProblem)).describe('The service: an /etc/init.d script, or a systemd unit (NAME or NAME.service)'),
    state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional().describe('started/stopped act only when needed; restarted always restarts; reloaded reloads (and starts a stopped service, as Ansible does)'),
    enabled: z.boolean().optional().describe('Whether it starts at boot (SysV: update-rc.d defaults/enable/disable; systemd: systemctl enable/disable)'),
    use: z.enum(['auto', 'sysvinit', 'service', 'systemd']).default('auto').describe("The service manager: auto takes the gathered ansible_service_mgr fact (or probes the host as gathering does): systemd uses systemctl, anything else the init scripts"),
  })
  .refine((p) => p.state !== undefined || p.enabled !== undefined, { message: 'one of the following is required: state, enabled', path: ['state'] });

type Params = z.output<typeof params>;

// Service managers Ansible handles with modules of their own that ferry does not have.
const UNSUPPORTED = ['upstart', 'openrc', 'openwrt_init', 'runit', 'svc', 'launchd', 'smf', 'src', 'bsdinit'];

/** What read found. */
export interface ServiceFacts {
  /** The manager's name and where it came from. */
  manager: Manager;
  /** SysV: whether /etc/init.d/NAME is a file. */
  script?: boolean;
  /** SysV: what `service NAME status` gave. */
  status?: ToolOutput;
  /** SysV: the /etc/rc?.d links to the script (S??NAME, K??NAME). */
  links?: string[];
  /** systemd: `systemctl show` of the unit (its properties). */
  unit?: Record<string, string>;
}

/** Whether the manager is systemd (systemctl) rather than init scripts. */
function isSystemd(m: Manager): boolean {
  return m.name === 'systemd';
}

/** The properties `systemctl show -p ...` printed (KEY=VALUE lines). */
export function parseSystemctlShow(out: ToolOutput): Record<string, string> {
  if (out.exitCode !== 0) throw new Error(`systemctl show failed (exit ${out.exitCode}): ${out.stderr.trim()}`);
  return Object.fromEntries(out.stdout.split('\n').flatMap((l) => {
    const at = l.indexOf('=');
    return at > 0 ? [[l.slice(0, at), l.slice(at + 1)]] : [];
  }));
}

/** The facts from the init-script probe's lines (`script`, `link=PATH`) and `service NAME status`. */
export function sysvFactsFrom(manager: Manager, probe: ToolOutput, status?: ToolOutput): ServiceFacts {
  const lines = probe.stdout.split('\n');
  return { manager, script: lines.includes('script'), links: lines.filter((l) => l.startsWith('link=')).map((l) => l.slice(5)), ...(status ? { status } : {}) };
}

/**
 * Whether `service NAME status` says the service runs, read as Ansible's service module reads it:
 * an LSB "not running" exit (1-4, 69) says no; else a one-line output's words; else exit 0 says yes.
 */
export function sysvRunning(status: ToolOutput, name: string): boolean {
  if ([1, 2, 3, 4, 69].includes(status.exitCode ?? -1)) return false;
  if (status.stdout.trimEnd().split('\n').length <= 1) {
    const s = status.stdout.toLowerCase().split(name.toLowerCase()).join('');
    if (s.includes('stop')) return false;
    if (s.includes('run')) return !s.includes('not ');
    if (s.includes('start') && !s.includes('not ')) return true;
    if (['could not access pid file', 'is dead and pid file exists', 'dead but subsys locked', 'dead but pid file exists'].some((w) => s.includes(w))) return false;
  }
  return status.exitCode === 0;
}

/** Reads the manager, then the script, its links and its status (SysV) or the unit's properties (systemd) (I/O only). */
async function readService(ctx: TaskContext, p: Params): Promise<ServiceFacts> {
  const manager = await serviceManager(ctx, p.use);
  if (UNSUPPORTED.includes(manager.name)) return { manager };
  if (isSystemd(manager)) {
    return { manager, unit: parseSystemctlShow(await ctx.run(sh`systemctl show --property=${UNIT_PROPERTIES} -- ${p.name}`)) };
  }
  const probe = await ctx.run(sh`test -f /etc/init.d/${p.name} && echo script; for l in /etc/rc?.d/[SK]??${p.name}; do test -e "$l" && echo "link=$l"; done; true`);
  const facts = sysvFactsFrom(manager, probe);
  if (!facts.script) return facts;
  return sysvFactsFrom(manager, probe, await ctx.run(sh`service ${p.name} status`));
}

/** The result Ansible's service module registers: name, state (asked, or what it is), enabled when asked. */
export function serviceResult(p: Pick<Params, 'name' | 'state' | 'enabled'>, running: boolean, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: p.name, state: p.state ?? (running ? 'started' : 'stopped'), ...(p.enabled !== undefined ? { enabled: p.enabled } : {}), ...extra };
}

/** The state steps (start, stop, restart, reload) for a service that runs or not, with `cmd(action)`. */
export function stateSteps(p: Pick<Params, 'name' | 'state'>, running: boolean, cmd: (action: string) => Step['cmd']): Step[] {
  const step = (action: string, title: string): Step => ({ title: `${title} ${p.name}`, cmd: cmd(action) });
  if (p.state === 'started' && !running) return [step('start', 'start')];
  if (p.state === 'stopped' && running) return [step('stop', 'stop')];
  if (p.state === 'restarted') return [step('restart', 'restart')];
  if (p.state === 'reloaded') return [running ? step('reload', 'reload') : step('start', 'start (reloaded: it was not running)')];
  return [];
}

/** The no-change reason: what the service is. */
export function asItIs(p: Pick<Params, 'name' | 'enabled'>, running: boolean, enabled: boolean): string {
  return `${p.name} is ${running ? 'running' : 'stopped'}${p.enabled !== undefined ? ` and ${enabled ? 'enabled' : 'disabled'} at boot` : ''}`;
}

/** Decides the steps for an /etc/init.d script: update-rc.d first (as Ansible), then service NAME ACTION (pure). */
function decideSysv(p: Params, f: ServiceFacts): Verdict {
  if (!f.script) return { refused: `Could not find the requested service ${p.name}: host` };
  const running = sysvRunning(f.status ?? { exitCode: 3, stdout: '', stderr: '' }, p.name);
  const links = (f.links ?? []).map((l) => l.split('/').pop()!);
  const enabled = links.some((l) => l.startsWith('S'));
  const steps: Step[] = [];
  if (p.enabled === true && !enabled) {
    // update-rc.d defaults makes the links when there are none (not even K ones), enable turns K into S.
    if (!links.some((l) => l.startsWith('K'))) steps.push({ title: `add the boot links of ${p.name} (update-rc.d defaults)`, cmd: sh`update-rc.d ${p.name} defaults` });
    steps.push({ title: `enable ${p.name} at boot (update-rc.d enable)`, cmd: sh`update-rc.d ${p.name} enable` });
  }
  if (p.enabled === false && enabled) steps.push({ title: `disable ${p.name} at boot (update-rc.d disable)`, cmd: sh`update-rc.d ${p.name} disable` });
  steps.push(...stateSteps(p, running, (action) => sh`service ${p.name} ${action}`));
  const data = serviceResult(p, running);
  return steps.length ? { changed: true, steps, data } : { changed: false, reason: asItIs(p, running, enabled), data };
}

// `systemctl is-enabled` exits 0 for these unit file states.
const SYSTEMD_ENABLED = ['enabled', 'enabled-runtime', 'alias', 'static', 'indirect', 'generated'];

/** The unit properties read (systemctl show --property=...), the service's `status` in its result. */
export const UNIT_PROPERTIES = 'Id,LoadState,ActiveState,SubState,UnitFileState';

/** What a unit's properties say: whether it runs, and whether it starts at boot (as `systemctl is-enabled` exits 0). */
export function unitNow(u: Record<string, string>): { running: boolean; enabled: boolean } {
  return { running: ['active', 'activating', 'reloading'].includes(u.ActiveState ?? ''), enabled: SYSTEMD_ENABLED.includes(u.UnitFileState ?? '') };
}

/** The step that enables a unit at boot, or disables it. */
export function enableStep(name: string, on: boolean): Step {
  const action = on ? 'enable' : 'disable';
  return { title: `${action} ${name} at boot (systemctl ${action})`, cmd: sh`systemctl ${action} -- ${name}` };
}

/** Decides the systemctl steps for a unit (pure). */
function decideSystemd(p: Params, f: ServiceFacts): Verdict {
  const u = f.unit ?? {};
  if (u.LoadState === 'not-found') return { refused: `Could not find the requested service ${p.name}: host` };
  const { running, enabled } = unitNow(u);
  const steps: Step[] = [];
  if (p.enabled !== undefined && p.enabled !== enabled) {
    if (u.UnitFileState === 'static' || u.UnitFileState === 'masked') return { refused: `${p.name} is ${u.UnitFileState}: systemctl cannot ${p.enabled ? 'enable' : 'disable'} it` };
    steps.push(enableStep(p.name, p.enabled));
  }
  steps.push(...stateSteps(p, running, (action) => sh`systemctl ${action} -- ${p.name}`));
  const data = serviceResult(p, running, { status: u });
  return steps.length ? { changed: true, steps, data } : { changed: false, reason: asItIs(p, running, enabled), data };
}

/** Decides by the host's service manager (pure). */
export function decideService(p: Params, f: ServiceFacts): Verdict {
  if (UNSUPPORTED.includes(f.manager.name)) {
    return { refused: `ferry's service module manages SysV init scripts and systemd units; this host's service manager is ${f.manager.name} (from ${managerSource(f.manager, 'service_mgr')}). Give use: sysvinit to manage its /etc/init.d scripts` };
  }
  return isSystemd(f.manager) ? decideSystemd(p, f) : decideSysv(p, f);
}

/** The service module. */
export const serviceModule = defineModule({
  name: 'service',
  params,
  doc: {
    summary: 'Start, stop, restart or reload a service and enable it at boot (SysV init scripts or systemd)',
    description:
      "As Ansible's service module. The manager: use:, else the gathered ansible_service_mgr fact, else the probe gathering " +
      'runs. systemd → systemctl; upstart, openrc and the other managers Ansible has modules for are refused; anything else ' +
      '(sysvinit, or a container whose PID 1 is another program) → the init scripts, as Ansible\'s service module falls back to ' +
      'them. SysV: the script must be /etc/init.d/NAME; running is read from `service NAME status` as Ansible reads it (an LSB ' +
      'exit 1-4 is stopped, else a one-line status\'s words, else exit 0 is running); enabled means a /etc/rc?.d/S??NAME link ' +
      'exists, and enabling runs `update-rc.d NAME defaults` (when no link exists) and `update-rc.d NAME enable`, disabling ' +
      '`update-rc.d NAME disable`. systemd: `systemctl show` gives ActiveState and UnitFileState; steps are systemctl ' +
      'enable/disable/start/stop/restart/reload -- NAME, tested against a real systemd (a systemd-nspawn host); the SysV path ' +
      'runs against real init scripts. daemon_reload and masked: the systemd module. Not done: pattern, arguments, sleep, runlevel.',
    checkMode: 'full',
    result: {
      name: 'the service name',
      state: "the state asked for, or (enabled alone) 'started' or 'stopped' as it was found",
      enabled: 'the enabled parameter, when given',
      status: "systemd: the unit's properties (Id, LoadState, ActiveState, SubState, UnitFileState)",
    },
    example: ['- service:', '    name: ssh', '    state: started', '    enabled: true', '', '- service: { name: nginx, state: reloaded }'].join('\n'),
  },
  read: readService,
  decide: decideService,
});
