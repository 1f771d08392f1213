// The `systemd` module (Ansible's ansible.builtin.systemd / systemd_service): a unit's state and
// whether it starts at boot, as the service module does on systemd, plus what only systemd has:
// daemon_reload (systemctl daemon-reload, before anything is read, so a unit file just written is
// what the rest sees) and masked (systemctl mask / unmask). decide is pure.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type Verdict } from '../runner/module.js';
import { checkedBy } from './lib/schema.js';
import { asItIs, enableStep, parseSystemctlShow, serviceNameProblem, serviceResult, stateSteps, UNIT_PROPERTIES, unitNow } from './service.js';

const params = z
  .strictObject({
    name: z.string().superRefine(checkedBy(serviceNameProblem)).optional().describe('The unit (NAME or NAME.service, NAME.timer, ...); needed with state, enabled or masked'),
    state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional().describe('started/stopped act only when needed; restarted always restarts; reloaded reloads (and starts a stopped unit)'),
    enabled: z.boolean().optional().describe('Whether it starts at boot (systemctl enable/disable)'),
    masked: z.boolean().optional().describe('Whether it is masked: it cannot be started at all (systemctl mask/unmask)'),
    daemon_reload: z.boolean().default(false).describe('Run systemctl daemon-reload first (after a unit file changed), before the unit is read'),
    scope: z.enum(['system']).default('system').describe("The system manager only: ferry does not manage a user's manager (Ansible's scope: user, global)"),
    no_block: z.boolean().default(false).describe('Queue the start/stop/... job and return without waiting for it (systemctl --no-block)'),
  })
  .refine((p) => p.state !== undefined || p.enabled !== undefined || p.masked !== undefined || p.daemon_reload, { message: 'one of the following is required: state, enabled, masked, daemon_reload', path: ['state'] })
  .refine((p) => p.name !== undefined || (p.state === undefined && p.enabled === undefined && p.masked === undefined), { message: 'name is also required when specifying state, enabled or masked', path: ['name'] });

type Params = z.output<typeof params>;

/** What read found: the unit's properties (none without a name). */
export interface SystemdFacts {
  unit?: Record<string, string>;
}

async function readSystemd(ctx: TaskContext, p: Params): Promise<SystemdFacts> {
  if (p.name === undefined) return {};
  return { unit: parseSystemctlShow(await ctx.run(sh`systemctl show --property=${UNIT_PROPERTIES},FragmentPath -- ${p.name}`)) };
}

/**
 * Decides the systemctl steps (pure): daemon-reload (asked), unmask, enable/disable, mask, then the
 * state. A masked unit cannot be enabled or started: unmask first (masked: false), as systemctl needs.
 */
export function decideSystemd(p: Params, f: SystemdFacts): Verdict {
  const reload: Step[] = p.daemon_reload ? [{ title: "reload systemd's unit files (systemctl daemon-reload)", cmd: sh`systemctl daemon-reload` }] : [];
  if (p.name === undefined) {
    return { changed: true, steps: reload, data: {} };
  }
  const name = p.name;
  const u = f.unit ?? {};
  const masked = u.UnitFileState === 'masked' || u.LoadState === 'masked';
  // unknown: refused, unless the reload may bring it (a unit file written just now, which read ran too
  // early to see) or it is only masked (systemctl masks a name it does not know)
  const onlyMasked = p.masked === true && p.state === undefined && p.enabled === undefined;
  if (u.LoadState === 'not-found' && !p.daemon_reload && !onlyMasked) return { refused: `Could not find the requested service ${name}: host` };
  const { running, enabled } = unitNow(u);
  const willBeMasked = p.masked ?? masked;
  if (willBeMasked && (p.enabled === true || p.state === 'started' || p.state === 'restarted' || p.state === 'reloaded')) {
    return { refused: `${name} is ${masked ? 'masked' : 'to be masked'}: it cannot be ${p.enabled === true ? 'enabled' : 'started'}; unmask it (masked: false)` };
  }
  // systemctl masks with a link to /dev/null in /etc/systemd/system, where this unit's own file is
  if (p.masked === true && !masked && u.FragmentPath?.startsWith('/etc/systemd/system/')) {
    return { refused: `${name} cannot be masked: its unit file is ${u.FragmentPath}, where systemctl would put the mask (a link to /dev/null); mask units installed under /usr/lib/systemd/system, or remove this file (and disable it) instead` };
  }
  const nb = p.no_block ? ['--no-block'] : [];
  const ctl = (action: string): Step['cmd'] => sh`systemctl ${[...nb, action]} -- ${name}`;
  const steps: Step[] = [...reload];
  if (p.masked === false && masked) steps.push({ title: `unmask ${name} (systemctl unmask)`, cmd: sh`systemctl unmask -- ${name}` });
  if (p.enabled !== undefined && p.enabled !== enabled && !(p.enabled === false && p.masked === true)) {
    if (u.UnitFileState === 'static') return { refused: `${name} is static: systemctl cannot ${p.enabled ? 'enable' : 'disable'} it` };
    steps.push(enableStep(name, p.enabled));
  }
  // masking stops nothing: a running unit runs on until stopped (state: stopped, before the mask here)
  steps.push(...stateSteps({ name, state: p.state }, running, ctl));
  if (p.masked === true && !masked) steps.push({ title: `mask ${name} (systemctl mask)`, cmd: sh`systemctl mask -- ${name}` });
  const data = serviceResult({ name, state: p.state, enabled: p.enabled }, running, { ...(p.masked !== undefined ? { masked: p.masked } : {}), status: u });
  if (steps.length) return { changed: true, steps, data };
  return { changed: false, reason: `${asItIs({ name, enabled: p.enabled }, running, enabled)}${p.masked !== undefined ? (masked ? ', masked' : ', not masked') : ''}`, data };
}

/** The systemd module. */
export const systemdModule = defineModule({
  name: 'systemd',
  params,
  doc: {
    summary: "Start, stop, restart or reload a systemd unit, enable it at boot, mask it, reload systemd's unit files",
    description:
      "As Ansible's systemd module (ansible.builtin.systemd, systemd_service) for the system manager. `systemctl show` gives " +
      'LoadState, ActiveState, UnitFileState and FragmentPath; steps are systemctl daemon-reload, unmask, enable/disable, start/stop/' +
      'restart/reload, mask -- NAME, in that order. daemon_reload runs first and counts as a change (Ansible runs it ' +
      'without reporting one, and not in check mode): ferry reports what a real run does, and check mode says it would ' +
      'run it. A unit systemd does not know is refused unless daemon_reload may bring it (a unit file just written). ' +
      'A masked unit is refused for enabled: true or a start; masking a unit whose own file is in /etc/systemd/system is refused ' +
      '(systemctl would fail: the mask goes there). Not done: scope user/global, daemon_reexec, force.',
    checkMode: 'full',
    result: {
      name: 'the unit name',
      state: "the state asked for, or 'started'/'stopped' as it was found",
      enabled: 'the enabled parameter, when given',
      masked: 'the masked parameter, when given',
      status: "the unit's properties (Id, LoadState, ActiveState, SubState, UnitFileState, FragmentPath) as read before the steps",
    },
    example: [
      '- copy: { src: app.service, dest: /etc/systemd/system/app.service }',
      '  register: unit',
      '- systemd:',
      '    name: app',
      '    state: "{{ \'restarted\' if unit is changed else \'started\' }}"',
      '    enabled: true',
      '    daemon_reload: "{{ unit is changed }}"',
    ].join('\n'),
  },
  read: readSystemd,
  decide: decideSystemd,
});
