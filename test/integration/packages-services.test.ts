// apt, package and service through a REAL sshd (test/harness/sshd.ts) on this machine, as the
// unprivileged login user with become, against the real Debian tools: a throwaway package built here
// with dpkg-deb (installed from its .deb, then from a throwaway flat file repository with
// update_cache), a throwaway /etc/init.d script run by service(8) and linked by update-rc.d. Check mode
// predicts exactly what the real run then does, a second run reports no change with its reason, and
// the same tasks run by ansible-playbook give the same changes. No real Debian package is installed or
// removed; the package, the list file, the script, its links and its process are removed in after().
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import type { Plan, TaskModule } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { aptModule } from '../../tasks/apt.js';
import { packageModule } from '../../tasks/package.js';
import { serviceModule } from '../../tasks/service.js';
import { NOPASSWD_USER, sshTransport, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';
import { ansiblePlaybook, skipWithoutAnsible } from '../helpers/ansible.js';
import { assertNoChange as noChange, looseModule as mod, runModuleResult, stepTitles } from '../helpers/run-module.js';

const id = randomBytes(3).toString('hex');
const PKG = `ferry-test-hello-${id}`;
const SVC = `ferry-test-svc-${id}`;
const LIST = `/etc/apt/sources.list.d/ferry-test-${id}.list`;
const SCRIPT = `/etc/init.d/${SVC}`;
const PIDFILE = `/run/${SVC}.pid`;

/** dpkg's version and status of the throwaway package ('' when dpkg does not know it). */
function dpkgState(): string {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version} ${db:Status-Abbrev}', '--', PKG], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}


describe('apt, package and service modules @integration', function () {
  this.timeout(300_000);
  let sshd: SshdHost;
  let transport: SshTransport;
  let tmp: string;

  async function run(m: TaskModule<never>, raw: Record<string, unknown>, check = false): Promise<{ plan: Plan; result: Record<string, unknown> }> {
    return runModuleResult(m, raw, { host: sshd.name, transport, become: {}, check });
  }

  /** Builds the throwaway package at `version` into `dir`; returns the .deb's path. */
  function buildDeb(version: string, dir: string): string {
    const root = join(tmp, `build-${version}`);
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr/share', PKG), { recursive: true });
    writeFileSync(join(root, 'DEBIAN/control'), `Package: ${PKG}\nVersion: ${version}\nArchitecture: all\nMaintainer: ferry tests <root@localhost>\nDescription: throwaway package of ferry's tests\n`);
    writeFileSync(join(root, 'usr/share', PKG, 'version'), `${version}\n`);
    const deb = join(dir, `${PKG}_${version}_all.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'pipe' });
    return deb;
  }

  /** (Re)writes the flat repository's Packages index for the .debs in it. */
  function indexRepo(repo: string): void {
    writeFileSync(join(repo, 'Packages'), execFileSync('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  before(async () => {
    sshd = await startSshd();
    transport = sshTransport(sshd, NOPASSWD_USER);
    tmp = mkdtempSync('/tmp/ferry-apt-');
    chmodSync(tmp, 0o755); // apt's _apt user reads the file repository
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
    if (dpkgState()) spawnSync('dpkg', ['--purge', '--', PKG]);
    rmSync(LIST, { force: true });
    // apt keeps a copy of the file repository's index under its lists: remove it with the list
    const lists = '/var/lib/apt/lists';
    for (const f of readdirSync(lists)) if (f.includes(tmp.slice(1).replace(/\//g, '_'))) rmSync(join(lists, f), { force: true });
    rmSync(tmp, { recursive: true, force: true });
    assert.equal(dpkgState(), '', 'the throwaway package was left installed');
  });

  describe('apt', () => {
    it('installs a .deb (check mode predicts it), reports no change on a second run, removes it', async () => {
      const deb = buildDeb('1.0', tmp);
      const check = await run(mod(aptModule), { deb }, true);
      assert.deepEqual(stepTitles(check.plan), [`install ${PKG} (1.0)`]);
      assert.equal(dpkgState(), '', 'check mode installed the package');
      const made = await run(mod(aptModule), { deb });
      assert.deepEqual(stepTitles(made.plan), stepTitles(check.plan));
      assert.equal(made.plan.changed && made.plan.steps[0]!.cmd!.display, check.plan.changed && check.plan.steps[0]!.cmd!.display);
      assert.equal(dpkgState(), '1.0 ii');
      assert.match(String(made.result.stdout), new RegExp(`Setting up ${PKG} \\(1\\.0\\)`));
      assert.equal(made.result.cache_updated, false);
      noChange((await run(mod(aptModule), { deb })).plan, new RegExp(`^${PKG} 1\\.0 is installed \\(the version of ${deb}\\)$`));
      const checkRemove = await run(mod(aptModule), { name: PKG, state: 'absent' }, true);
      assert.deepEqual(stepTitles(checkRemove.plan), [`remove ${PKG} (1.0)`]);
      assert.equal(dpkgState(), '1.0 ii', 'check mode removed the package');
      const gone = await run(mod(aptModule), { name: PKG, state: 'absent' });
      assert.deepEqual(stepTitles(gone.plan), stepTitles(checkRemove.plan));
      assert.equal(dpkgState().split(' ')[1] ?? '', dpkgState() ? 'un' : '');
      noChange((await run(mod(aptModule), { name: PKG, state: 'absent' })).plan, new RegExp(`^${PKG} is not installed$`));
    });

    it('from a file repository: update_cache then install, latest upgrades, a pin downgrades, a regex-like name stays literal', async () => {
      const repo = join(tmp, 'repo');
      mkdirSync(repo);
      buildDeb('1.0', repo);
      indexRepo(repo);
      writeFileSync(LIST, `deb [trusted=yes] file:${repo} ./\n`);

      // Check mode cannot see what the update brings: it says so, and the real run decides after it.
      const check = await run(mod(aptModule), { name: PKG, update_cache: true }, true);
      assert.deepEqual(stepTitles(check.plan), ['update the apt cache (apt-get update)', `install ${PKG}: No package matching '${PKG}' is available (as the cache is now; the run decides again after updating it)`]);
      const made = await run(mod(aptModule), { name: PKG, update_cache: true });
      assert.equal(made.result.changed, true);
      assert.equal(made.result.cache_updated, true);
      assert.equal(dpkgState(), '1.0 ii');
      // The cache is fresh: cache_valid_time leaves it, and the package is there.
      const fresh = await run(mod(aptModule), { name: PKG, cache_valid_time: 3600 });
      noChange(fresh.plan, new RegExp(`^${PKG} 1\\.0: installed$`));
      assert.equal(fresh.result.cache_updated, false);
      // update_cache without cache_valid_time updates it, and with nothing to install the task is ok (as Ansible's).
      const again = await run(mod(aptModule), { name: PKG, update_cache: true });
      assert.equal(again.result.changed, false);
      assert.equal(again.result.cache_updated, true);

      buildDeb('2.0', repo);
      indexRepo(repo);
      const updated = await run(mod(aptModule), { update_cache: true });
      assert.equal(updated.result.changed, true);
      assert.equal(updated.result.cache_updated, true);
      const checkLatest = await run(mod(aptModule), { name: PKG, state: 'latest' }, true);
      assert.deepEqual(stepTitles(checkLatest.plan), [`upgrade ${PKG} (1.0 → 2.0)`]);
      assert.equal(dpkgState(), '1.0 ii', 'check mode upgraded the package');
      const latest = await run(mod(aptModule), { name: PKG, state: 'latest' });
      assert.deepEqual(stepTitles(latest.plan), stepTitles(checkLatest.plan));
      assert.equal(dpkgState(), '2.0 ii');
      assert.equal(readFileSync(`/usr/share/${PKG}/version`, 'utf8'), '2.0\n');
      noChange((await run(mod(aptModule), { name: PKG, state: 'latest' })).plan, new RegExp(`^${PKG} 2\\.0: at the latest version apt has$`));

      const pin = { name: `${PKG}=1.0`, allow_downgrade: true };
      const checkPin = await run(mod(aptModule), pin, true);
      assert.deepEqual(stepTitles(checkPin.plan), [`downgrade ${PKG} (2.0 → 1.0)`]);
      await run(mod(aptModule), pin);
      assert.equal(dpkgState(), '1.0 ii');
      noChange((await run(mod(aptModule), pin)).plan, new RegExp(`^${PKG} 1\\.0: installed$`));

      // apt-get would read this name as a regular expression and install the package above: refused.
      const regex = `${PKG.slice(0, -1)}.`;
      await assert.rejects(run(mod(aptModule), { name: regex, state: 'latest' }), new RegExp(`No package matching '${regex.replace(/\./g, '\\.')}' is available`));
      assert.equal(dpkgState(), '1.0 ii');
    });

    it('in a playbook: a cache update that changes no package is ok (no handler runs), and package takes apt from the gathered facts', async () => {
      assert.equal(dpkgState(), '1.0 ii', 'runs after the repository test');
      const dir = join(tmp, 'playbook');
      mkdirSync(dir);
      const inventory = await writeInventory([sshd], dir);
      const pb = join(dir, 'pb.yml');
      writeFileSync(
        pb,
        stringify([
          {
            hosts: 'all',
            become: true,
            gather_facts: true,
            tasks: [
              { name: 'refresh', apt: { name: PKG, update_cache: true }, register: 'r', notify: 'never' },
              { name: 'by package', package: { name: PKG, state: 'present' }, register: 'p' },
            ],
            handlers: [{ name: 'never', command: 'false' }],
          },
        ]),
      );
      const rep = new CollectingReporter();
      const run = await runPlaybookFile(pb, { inventory: [inventory], reporter: rep, stateDir: join(dir, 'state') });
      assert.equal(run.exitCode, 0, JSON.stringify(rep.results()));
      assert.deepEqual(rep.results().map((x) => `${x.task}: ${x.status}`), ['Gathering Facts: ok', 'refresh: ok', 'by package: ok']);
      const vars = run.hostValues[sshd.name] as Record<string, Record<string, unknown>>;
      assert.equal(vars.r!.changed, false);
      assert.equal(vars.r!.cache_updated, true);
      assert.match(String(vars.p!.msg), new RegExp(`^${PKG} 1\\.0: installed$`));
    });

    it('package: finds apt on the host (no facts gathered) and does what apt does; another manager is refused', async () => {
      assert.equal(existsSync(LIST), true, 'runs after the repository test');
      const gone = await run(mod(packageModule), { name: PKG, state: 'absent' });
      assert.deepEqual(stepTitles(gone.plan), [`remove ${PKG} (1.0)`]);
      const check = await run(mod(packageModule), { name: [PKG], state: 'present' }, true);
      assert.deepEqual(stepTitles(check.plan), [`install ${PKG} (2.0)`]);
      await run(mod(packageModule), { name: [PKG], state: 'present' });
      assert.equal(dpkgState(), '2.0 ii');
      noChange((await run(mod(packageModule), { name: PKG, state: 'present' })).plan, /installed$/);
      await assert.rejects(run(mod(packageModule), { name: PKG, state: 'absent', use: 'dnf' }), /ferry's package module supports apt; this host's package manager is 'dnf' \(from use:\)/);
      assert.equal(dpkgState(), '2.0 ii');
      await run(mod(packageModule), { name: PKG, state: 'absent' });
    });

    it('reports the same changes and leaves the same dpkg state as ansible-playbook', function () {
      skipWithoutAnsible(this);
      return (async () => {
        const deb = buildDeb('1.0', tmp);
        const tasks = [{ apt: { deb } }, { apt: { deb } }, { apt: { name: PKG, state: 'absent' } }, { apt: { name: PKG, state: 'absent' } }];
        const probe = { shell: `dpkg-query -W -f '\${Version} \${db:Status-Abbrev}' -- ${PKG} || true`, changed_when: false };
        const a = ansiblePlaybook(sshd, NOPASSWD_USER, tasks.flatMap((t) => [t, probe]));
        assert.equal(a.code, 0, a.output);
        for (const [i, t] of tasks.entries()) {
          const { result } = await run(mod(aptModule), t.apt);
          assert.deepEqual({ changed: result.changed ?? false, dpkg: dpkgState() }, { changed: a.results[2 * i]!.changed, dpkg: String(a.results[2 * i + 1]!.stdout).trim() }, `task ${i + 1}: ${JSON.stringify(t)}`);
        }
      })();
    });
  });

  describe('service (SysV: service(8) and update-rc.d; this machine runs no systemd)', () => {
    /** The pid the script's pidfile names, when that process lives. */
    function runningPid(): number | undefined {
      if (!existsSync(PIDFILE)) return undefined;
      const pid = Number(readFileSync(PIDFILE, 'utf8').trim());
      return spawnSync('kill', ['-0', String(pid)]).status === 0 ? pid : undefined;
    }
    /** The /etc/rc?.d links to the script. */
    const links = (): string[] => ['0', '1', '2', '3', '4', '5', '6', 'S'].flatMap((l) => readdirSync(`/etc/rc${l}.d`).filter((f) => f.endsWith(SVC) && f.length === SVC.length + 3).map((f) => `rc${l}.d/${f}`));
    let log: string;

    before(() => {
      log = join(tmp, 'svc.log');
      writeFileSync(
        SCRIPT,
        [
          '#!/bin/sh',
          '### BEGIN INIT INFO',
          `# Provides:          ${SVC}`,
          '# Required-Start:',
          '# Required-Stop:',
          '# Default-Start:     2 3 4 5',
          '# Default-Stop:      0 1 6',
          "# Short-Description: throwaway service of ferry's tests",
          '### END INIT INFO',
          `PIDFILE=${PIDFILE}`,
          'case "$1" in',
          `  start) echo start >> ${log}; exec start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile $PIDFILE --exec /usr/bin/sleep -- 3600 ;;`,
          `  stop) echo stop >> ${log}; start-stop-daemon --stop --quiet --oknodo --pidfile $PIDFILE --remove-pidfile --retry 5 ;;`,
          '  restart) "$0" stop && "$0" start ;;',
          `  reload) echo reload >> ${log} ;;`,
          '  status) start-stop-daemon --status --pidfile $PIDFILE ;;',
          '  *) echo "Usage: $0 {start|stop|restart|reload|status}" >&2; exit 2 ;;',
          'esac',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
    });
    after(() => {
      const pid = runningPid();
      if (pid !== undefined) process.kill(pid);
      spawnSync('update-rc.d', ['-f', SVC, 'remove']);
      rmSync(SCRIPT, { force: true });
      rmSync(PIDFILE, { force: true });
      assert.deepEqual(links(), [], 'the rc links were left behind');
    });

    it('starts (check mode first), reports no change while running, restarts, reloads, stops', async () => {
      const check = await run(mod(serviceModule), { name: SVC, state: 'started' }, true);
      assert.deepEqual(stepTitles(check.plan), [`start ${SVC}`]);
      assert.equal(runningPid(), undefined, 'check mode started the service');
      const started = await run(mod(serviceModule), { name: SVC, state: 'started' });
      assert.deepEqual(stepTitles(started.plan), stepTitles(check.plan));
      const pid = runningPid();
      assert.ok(pid, 'the service runs');
      assert.deepEqual(started.result, { name: SVC, state: 'started' });
      noChange((await run(mod(serviceModule), { name: SVC, state: 'started' })).plan, new RegExp(`^${SVC} is running$`));
      const restarted = await run(mod(serviceModule), { name: SVC, state: 'restarted' });
      assert.deepEqual(stepTitles(restarted.plan), [`restart ${SVC}`]);
      assert.ok(runningPid() !== undefined && runningPid() !== pid, 'restarted: another process');
      await run(mod(serviceModule), { name: SVC, state: 'reloaded' });
      assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['start', 'stop', 'start', 'reload']);
      const checkStop = await run(mod(serviceModule), { name: SVC, state: 'stopped' }, true);
      assert.deepEqual(stepTitles(checkStop.plan), [`stop ${SVC}`]);
      assert.ok(runningPid(), 'check mode stopped the service');
      await run(mod(serviceModule), { name: SVC, state: 'stopped' });
      assert.equal(runningPid(), undefined);
      noChange((await run(mod(serviceModule), { name: SVC, state: 'stopped' })).plan, new RegExp(`^${SVC} is stopped$`));
      await assert.rejects(run(mod(serviceModule), { name: `${SVC}-missing`, state: 'started' }), new RegExp(`Could not find the requested service ${SVC}-missing: host`));
    });

    it('enables with update-rc.d (defaults, enable), checks first, then disables; a second run changes nothing', async () => {
      const check = await run(mod(serviceModule), { name: SVC, enabled: true }, true);
      assert.deepEqual(stepTitles(check.plan), [`add the boot links of ${SVC} (update-rc.d defaults)`, `enable ${SVC} at boot (update-rc.d enable)`]);
      assert.deepEqual(links(), [], 'check mode made links');
      const on = await run(mod(serviceModule), { name: SVC, enabled: true });
      assert.deepEqual(on.result, { name: SVC, state: 'stopped', enabled: true });
      assert.deepEqual(links().filter((l) => /\/S\d\d/.test(l)).map((l) => l.slice(0, 6)), ['rc2.d/', 'rc3.d/', 'rc4.d/', 'rc5.d/']);
      noChange((await run(mod(serviceModule), { name: SVC, enabled: true })).plan, new RegExp(`^${SVC} is stopped and enabled at boot$`));
      const off = await run(mod(serviceModule), { name: SVC, enabled: false });
      assert.deepEqual(stepTitles(off.plan), [`disable ${SVC} at boot (update-rc.d disable)`]);
      assert.deepEqual(links().filter((l) => /\/S\d\d/.test(l)), []);
      noChange((await run(mod(serviceModule), { name: SVC, enabled: false })).plan, new RegExp(`^${SVC} is stopped and disabled at boot$`));
      // disabled leaves K links: enabling again needs no defaults
      const checkOn = await run(mod(serviceModule), { name: SVC, enabled: true }, true);
      assert.deepEqual(stepTitles(checkOn.plan), [`enable ${SVC} at boot (update-rc.d enable)`]);
    });

    it('reports the same changes, results and rc links as ansible-playbook', function () {
      skipWithoutAnsible(this);
      return (async () => {
        spawnSync('update-rc.d', ['-f', SVC, 'remove']);
        const tasks = [
          { service: { name: SVC, state: 'started', enabled: true } },
          { service: { name: SVC, state: 'started', enabled: true } },
          { service: { name: SVC, state: 'stopped', enabled: false } },
          { service: { name: SVC, state: 'stopped' } },
        ];
        const probe = { shell: `ls /etc/rc?.d | grep -c '^S..${SVC}$' || true; service ${SVC} status >/dev/null && echo running || echo stopped`, changed_when: false };
        const a = ansiblePlaybook(sshd, NOPASSWD_USER, tasks.flatMap((t) => [t, probe]));
        assert.equal(a.code, 0, a.output);
        spawnSync('update-rc.d', ['-f', SVC, 'remove']);
        const keys = ['changed', 'name', 'state', 'enabled'];
        const pick = (r: Record<string, unknown>) => Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
        for (const [i, t] of tasks.entries()) {
          const { plan, result } = await run(mod(serviceModule), t.service);
          const now = spawnSync('sh', ['-c', probe.shell], { encoding: 'utf8' }).stdout.trim();
          assert.deepEqual({ result: pick({ ...result, changed: plan.changed }), now }, { result: pick(a.results[2 * i]!), now: String(a.results[2 * i + 1]!.stdout) }, `task ${i + 1}: ${JSON.stringify(t)}`);
        }
      })();
    });
  });
});
