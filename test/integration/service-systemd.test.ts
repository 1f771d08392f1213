// The service module's systemd path against a real systemd: a Debian 12 host whose PID 1 is systemd
// (test/harness/systemd-container.ts: the lab's guest image under systemd-nspawn, its own sshd), reached
// over SSH like any host. The manager comes from gathered facts (ansible_service_mgr) or the module's own
// probe; check mode predicts exactly what the real run does; a second run reports no change with its
// reason; what systemd says afterwards (systemctl is-active / is-enabled, the unit's process) is the proof.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import { sh } from '../../runner/command.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { parseSystemctlShow, serviceModule } from '../../tasks/service.js';
import { systemdModule } from '../../tasks/systemd.js';
import { sshTransport, writeInventory, type SshdHost } from '../harness/sshd.js';
import { startSystemdContainer, systemdContainerMissing } from '../harness/systemd-container.js';
import { CollectingReporter } from '../helpers/collect.js';
import { assertNoChange as noChange, looseModule as mod, runModuleResult, stepTitles as titles } from '../helpers/run-module.js';

const UNIT = 'ferry-test-svc';

describe('service and systemd on a host whose PID 1 is systemd (systemctl) @integration', function () {
  // the first use builds the lab's images when no earlier test did (about 6 minutes)
  this.timeout(900_000);
  let host: SshdHost;
  let transport: SshTransport;
  let dir: string;

  /** What systemd says of a unit: the properties asked for (systemctl show, read as the modules read it). */
  const props = async (unit: string, ...names: string[]): Promise<Record<string, string>> => parseSystemctlShow(await transport.run(sh`systemctl show --property=${names.join(',')} -- ${unit}`));
  /** The test unit's ActiveState, UnitFileState and MainPID. */
  const unitState = async (): Promise<{ active: string; enabled: string; pid: number }> => {
    const p = await props(UNIT, 'ActiveState', 'UnitFileState', 'MainPID');
    return { active: p.ActiveState ?? '', enabled: p.UnitFileState ?? '', pid: Number(p.MainPID ?? 0) };
  };
  /** A unit file's text: a process that runs until stopped, started at boot by multi-user.target when enabled. */
  const unitFile = (description: string, extra: string[] = []): string =>
    ['[Unit]', `Description=${description}`, '[Service]', 'ExecStart=/bin/sleep infinity', ...extra, '[Install]', 'WantedBy=multi-user.target', ''].join('\n');
  const run = (raw: Record<string, unknown>, check = false, m = mod(serviceModule)) => runModuleResult(m, raw, { host: host.name, transport, become: {}, check });
  const systemd = (raw: Record<string, unknown>, check = false) => run(raw, check, mod(systemdModule));

  before(async function () {
    const missing = systemdContainerMissing();
    if (missing) {
      console.warn(`    SKIPPED: ${missing}`);
      this.skip();
    }
    host = await startSystemdContainer();
    transport = sshTransport(host, 'root');
    dir = mkdtempSync(join(tmpdir(), 'ferry-systemd-test-'));
    // a unit of the test's own: a process that runs until stopped, a reload that leaves a trace
    const unit = unitFile('ferry test service', [`ExecReload=/bin/sh -c 'echo reload >> /run/${UNIT}.log'`]);
    const r = await transport.run(sh`cat > /etc/systemd/system/${UNIT}.service && systemctl daemon-reload`, { stdin: unit });
    assert.equal(r.exitCode, 0, r.stderr);
  });
  after(async () => {
    await transport?.close();
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the host is what the test says: systemd is PID 1', async () => {
    assert.equal((await transport.run(sh`cat /proc/1/comm`)).stdout.trim(), 'systemd');
  });

  it('gathered facts say systemd, and a playbook starts and enables the unit through them (check mode first), then reports no change', async () => {
    const inv = await writeInventory([host], dir, 'root');
    const pb = join(dir, 'pb.yml');
    // (then the same unit by Ansible's newer name for the systemd module: started already, ok)
    writeFileSync(pb, stringify([{ hosts: 'all', tasks: [{ debug: { var: 'ansible_service_mgr' } }, { service: { name: UNIT, state: 'started', enabled: true } }, { 'ansible.builtin.systemd_service': { name: UNIT, state: 'started' } }] }]));
    const play = async (check: boolean) => {
      const reporter = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [inv], check, reporter });
      const results = reporter.events.flatMap((e) => (e.type === 'task_result' ? [e] : []));
      return { code: r.exitCode, results };
    };
    const check = await play(true);
    assert.equal(check.code, 0);
    const mgr = check.results.find((e) => e.module === 'debug');
    assert.equal(mgr?.msg, 'ansible_service_mgr = systemd');
    const svcCheck = check.results.find((e) => e.module === 'service')!;
    assert.equal(svcCheck.status, 'changed');
    assert.deepEqual(svcCheck.steps, [`enable ${UNIT} at boot (systemctl enable)`, `start ${UNIT}`]);
    assert.deepEqual(await unitState(), { active: 'inactive', enabled: 'disabled', pid: 0 }, 'check mode changed the unit');
    assert.equal(check.results.find((e) => e.module === 'systemd')?.status, 'changed', 'check mode: systemd_service would start it too');
    const real = await play(false);
    assert.equal(real.code, 0);
    const svc = real.results.find((e) => e.module === 'service')!;
    assert.equal(svc.status, 'changed');
    // what check mode said it would do (enable, start) is what the unit now is
    const now = await unitState();
    assert.equal(now.active, 'active');
    assert.equal(now.enabled, 'enabled');
    assert.ok(now.pid > 0);
    assert.equal(real.results.find((e) => e.module === 'systemd')?.status, 'ok');
    const again = await play(false);
    assert.equal(again.results.find((e) => e.module === 'service')!.status, 'ok');
  });

  it('restarts (another process), reloads (ExecReload ran), stops (check mode first); stopped again changes nothing; disables', async () => {
    const before = await unitState();
    assert.equal(before.active, 'active', 'the test above left it running');
    const restarted = await run({ name: UNIT, state: 'restarted' });
    assert.deepEqual(titles(restarted.plan), [`restart ${UNIT}`]);
    const after = await unitState();
    assert.equal(after.active, 'active');
    assert.notEqual(after.pid, before.pid, 'restarted: the same process');
    const reloaded = await run({ name: UNIT, state: 'reloaded' });
    assert.deepEqual(titles(reloaded.plan), [`reload ${UNIT}`]);
    assert.equal((await transport.run(sh`cat /run/${UNIT}.log`)).stdout, 'reload\n');
    const checkStop = await run({ name: UNIT, state: 'stopped' }, true);
    assert.deepEqual(titles(checkStop.plan), [`stop ${UNIT}`]);
    assert.equal((await unitState()).active, 'active', 'check mode stopped it');
    const stopped = await run({ name: UNIT, state: 'stopped' });
    assert.deepEqual(stopped.result.name, UNIT);
    assert.equal(stopped.result.state, 'stopped');
    assert.equal((await unitState()).active, 'inactive');
    noChange((await run({ name: UNIT, state: 'stopped' })).plan, new RegExp(`^${UNIT} is stopped$`));
    const off = await run({ name: UNIT, enabled: false });
    assert.deepEqual(titles(off.plan), [`disable ${UNIT} at boot (systemctl disable)`]);
    assert.equal((await unitState()).enabled, 'disabled');
    noChange((await run({ name: UNIT, enabled: false })).plan, new RegExp(`^${UNIT} is stopped and disabled at boot$`));
  });

  it('systemd: a new unit file, daemon_reload, enable and start in one task (check mode first); a changed unit file is seen after daemon_reload alone', async () => {
    const unit2 = `${UNIT}2`;
    const write = async (desc: string) => {
      assert.equal((await transport.run(sh`cat > /etc/systemd/system/${unit2}.service`, { stdin: unitFile(desc) })).exitCode, 0);
    };
    const show = async (prop: string) => (await props(unit2, prop))[prop];
    await write('first');
    const params = { name: unit2, state: 'started', enabled: true, daemon_reload: true };
    const check = await systemd(params, true);
    assert.deepEqual(titles(check.plan), ["reload systemd's unit files (systemctl daemon-reload)", `enable ${unit2} at boot (systemctl enable)`, `start ${unit2}`]);
    assert.equal(await show('ActiveState'), 'inactive', 'check mode started it');
    const real = await systemd(params);
    assert.deepEqual(titles(real.plan), titles(check.plan));
    assert.deepEqual([await show('ActiveState'), await show('UnitFileState'), await show('Description')], ['active', 'enabled', 'first']);
    // without the reload, state and enabled as they are: no change
    noChange((await systemd({ name: unit2, state: 'started', enabled: true })).plan, new RegExp(`^${unit2} is running and enabled at boot$`));
    await write('second');
    assert.equal(await show('NeedDaemonReload'), 'yes');
    const reload = await systemd({ daemon_reload: true });
    assert.deepEqual(titles(reload.plan), ["reload systemd's unit files (systemctl daemon-reload)"]);
    assert.deepEqual([await show('NeedDaemonReload'), await show('Description')], ['no', 'second']);
  });

  it('systemd: a unit of /usr/lib stopped and masked (stop, then mask); a start is refused while masked; unmasked and started again; one of /etc cannot be masked', async () => {
    // the unit above lives in /etc/systemd/system, where systemctl puts a mask: refused, in check mode too
    const etcUnit = `${UNIT}2`;
    for (const check of [true, false]) await assert.rejects(systemd({ name: etcUnit, masked: true }, check), new RegExp(`${etcUnit} cannot be masked: its unit file is /etc/systemd/system/${etcUnit}.service`));
    const unit2 = `${UNIT}3`;
    assert.equal((await transport.run(sh`cat > /usr/lib/systemd/system/${unit2}.service`, { stdin: unitFile('third') })).exitCode, 0);
    await systemd({ name: unit2, state: 'started', daemon_reload: true });
    const show = async (prop: string) => (await props(unit2, prop))[prop];
    assert.equal(await show('ActiveState'), 'active');
    const masked = await systemd({ name: unit2, state: 'stopped', masked: true });
    assert.deepEqual(titles(masked.plan), [`stop ${unit2}`, `mask ${unit2} (systemctl mask)`]);
    assert.deepEqual([await show('ActiveState'), await show('UnitFileState')], ['inactive', 'masked']);
    noChange((await systemd({ name: unit2, masked: true })).plan, new RegExp(`^${unit2} is stopped, masked$`));
    await assert.rejects(systemd({ name: unit2, state: 'started' }), new RegExp(`${unit2} is masked: it cannot be started; unmask it \\(masked: false\\)`));
    const back = await systemd({ name: unit2, state: 'started', masked: false });
    assert.deepEqual(titles(back.plan), [`unmask ${unit2} (systemctl unmask)`, `start ${unit2}`]);
    assert.equal(await show('ActiveState'), 'active');
  });

  it('refuses a unit systemd does not know, and enabling a static unit, with what it is', async () => {
    await assert.rejects(run({ name: `${UNIT}-missing`, state: 'started' }), new RegExp(`Could not find the requested service ${UNIT}-missing`));
    // systemd-journald.service has no [Install] section: static
    await assert.rejects(run({ name: 'systemd-journald', enabled: false }), /systemd-journald is static: systemctl cannot disable it/);
  });
});
