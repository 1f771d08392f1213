// Facts as Ansible users expect them (issue 13 §2), through the built CLI against a real sshd:
// ferry's ansible_* facts equal those Debian's ansible-core (`ansible -m setup`) reports for the same
// host and user; plays gather by default ("Gathering Facts"), ansible.cfg `gathering = explicit`
// turns that off; a fact used where none is gathered is bad input naming the fix.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ANSIBLE_FACT_NAMES } from '../../runner/facts/index.js';
import { NOPASSWD_USER, startSshd, type SshdHost } from '../harness/sshd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');

/** A command's exit code and output, with only PATH, NO_COLOR and `env` in its environment. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function hasAnsible(): boolean {
  return spawnSync('ansible', ['--version'], { encoding: 'utf8' }).status === 0;
}

type Facts = Record<string, unknown>;

/** Facts whose value moves between two reads a second apart, and how far it may move. */
function near(a: number, b: number, within: number): boolean {
  return Math.abs(a - b) <= within;
}

describe('facts: ferry and ansible -m setup on the same sshd host @integration', function () {
  this.timeout(180_000);
  let dir: string;
  let project: string;
  let out: string;
  let home: string;
  let host: SshdHost;
  let inv: string;

  const ferry = (args: string[], env: Record<string, string> = {}): ReturnType<typeof run> => run(process.execPath, [CLI, ...args], project, { HOME: home, ...env });

  before(async function () {
    if (!hasAnsible()) {
      console.warn('    ansible is not installed (apt-get install ansible-core; `npm test` installs it): skipping');
      this.skip();
    }
    dir = await mkdtemp(join(tmpdir(), 'ferry-facts-'));
    project = join(dir, 'project');
    home = join(dir, 'home');
    out = join(dir, 'out');
    await mkdir(project, { mode: 0o755 });
    await mkdir(home, { mode: 0o700 });
    await mkdir(out);
    // the tasks write here as the login user
    await chmod(out, 0o777);
    await chmod(dir, 0o755);
    host = await startSshd();
    inv = join(project, 'inventory.yml');
    await writeFile(inv, stringify({
      all: {
        hosts: {
          [host.name]: {
            ansible_host: host.host,
            ansible_port: host.port,
            ansible_user: NOPASSWD_USER,
            ansible_ssh_private_key_file: host.userKeyFile,
            ferry_known_hosts_file: host.knownHostsFile,
          },
        },
      },
    }));
  });
  after(async () => {
    await host?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Ansible's environment for this host: its key only, the throwaway login key only, no ssh_config or ControlMaster of the developer's. */
  const ansibleEnv = (): Record<string, string> => ({
    HOME: home,
    ANSIBLE_SSH_ARGS: `-F /dev/null -o UserKnownHostsFile=${host.knownHostsFile} -o IdentitiesOnly=yes -o ControlMaster=no`,
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_LOCAL_TEMP: join(home, 'ansible-tmp'),
  });

  /** `ansible HOST -m setup` (with module args), as Ansible prints it into --tree: the host's ansible_facts. */
  function ansibleSetup(args?: string): Facts {
    const tree = join(dir, `tree-${Math.random().toString(36).slice(2)}`);
    const r = run('ansible', [host.name, '-i', inv, '-m', 'setup', ...(args ? ['-a', args] : []), '--tree', tree], project, ansibleEnv());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return (JSON.parse(spawnSync('cat', [join(tree, host.name)], { encoding: 'utf8' }).stdout) as { ansible_facts: Facts }).ansible_facts;
  }

  /** A playbook of `play` run by the built CLI; returns the run. */
  async function ferryPlay(name: string, play: Record<string, unknown>, env: Record<string, string> = {}): Promise<ReturnType<typeof run>> {
    const pb = join(project, `${name}.yml`);
    await writeFile(pb, stringify([{ hosts: 'all', ...play }]));
    return ferry(['run', pb, '-i', inv, '--plain'], env);
  }

  it('every ansible_* fact ferry gathers (by default, "Gathering Facts") equals what ansible -m setup reports', async () => {
    const dump = join(out, 'ferry-facts.json');
    const r = await ferryPlay('dump', {
      tasks: [
        { name: 'dump', copy: { content: '{{ ansible_facts | to_json }}', dest: dump } },
        { name: 'same names', assert: { that: ["ansible_facts['distribution'] == ansible_distribution", 'ansible_facts.os_family == ansible_os_family', 'ansible_default_ipv4 == ansible_facts.default_ipv4'] } },
      ],
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Gathering Facts/);
    const mine = JSON.parse(await readFile(dump, 'utf8')) as Facts;
    const theirs = ansibleSetup();
    assert.ok((mine.mounts as Facts[]).some((x) => x.mount === '/'), 'ferry lists /');
    const compared: string[] = [];
    for (const name of ANSIBLE_FACT_NAMES) {
      const a = theirs[`ansible_${name}`];
      const m = mine[name];
      assert.notEqual(m, undefined, `ferry has no ${name}`);
      if (a === undefined) continue;
      compared.push(name);
      switch (name) {
        case 'memfree_mb':
          // other processes (tests beside this one) take and free memory between the two reads
          assert.ok((m as number) > 0 && (m as number) <= (mine.memtotal_mb as number), `memfree_mb ${String(m)}`);
          assert.ok(near(m as number, a as number, (a as number) / 4), `memfree_mb: ferry ${String(m)}, ansible ${String(a)}`);
          break;
        case 'all_ipv4_addresses':
        case 'interfaces':
          assert.deepEqual([...(m as string[])].sort(), [...(a as string[])].sort(), name);
          break;
        case 'env': {
          // what differs by who reads it: the reading process's own _, SHLVL, PWD; LC_CTYPE, which python3
          // sets itself in the C locale (PEP 538); SSH_TTY and the client port, as Ansible's ssh asks for a tty
          const own = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD', 'LC_CTYPE', 'SSH_TTY', 'SSH_CLIENT', 'SSH_CONNECTION']);
          const strip = (e: unknown): Facts => Object.fromEntries(Object.entries(e as Facts).filter(([k]) => !own.has(k)));
          assert.deepEqual(strip(m), strip(a), 'env');
          assert.equal((m as Facts).USER ?? (m as Facts).LOGNAME, NOPASSWD_USER);
          break;
        }
        case 'mounts': {
          // other tests on this machine mount and unmount throwaway filesystems under the temp folder meanwhile
          const tmp = tmpdir();
          const byMount = (l: unknown): Map<string, Facts> => new Map((l as Facts[]).filter((x) => !(x.mount as string).startsWith(`${tmp}/`)).map((x) => [x.mount as string, x]));
          const [mm, am] = [byMount(m), byMount(a)];
          assert.deepEqual([...mm.keys()].sort(), [...am.keys()].sort(), 'mount points');
          for (const [mount, x] of am) {
            const y = mm.get(mount)!;
            for (const k of ['device', 'fstype', 'options', 'uuid', 'size_total', 'block_size', 'block_total', 'inode_total']) assert.deepEqual(y[k], x[k], `${mount} ${k}`);
            // other processes write to the disk between the two reads
            assert.ok(near(y.size_available as number, x.size_available as number, 2 ** 30), `${mount} size_available`);
          }
          break;
        }
        default:
          assert.deepEqual(m, a, name);
      }
    }
    // Ansible reports every one of these on Linux: none went uncompared
    assert.deepEqual(compared, [...ANSIBLE_FACT_NAMES]);
  });

  it('-e and play vars win over gathered facts, ansible_facts keeps the gathered value: the same values as ansible-playbook', async () => {
    const shown = (file: string) => [{ name: 'show', copy: { content: '{{ [ansible_hostname, ansible_os_family, ansible_facts.hostname, ansible_facts.os_family, ansible_distribution] | to_json }}', dest: file } }];
    const pb = join(project, 'precedence.yml');
    const write = (file: string) => writeFile(pb, stringify([{ hosts: 'all', vars: { ansible_os_family: 'from-play' }, tasks: shown(file) }]));
    const [mineFile, theirsFile] = [join(out, 'precedence-ferry.json'), join(out, 'precedence-ansible.json')];
    await write(mineFile);
    const r = ferry(['run', pb, '-i', inv, '--plain', '-e', 'ansible_hostname=from-e']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await write(theirsFile);
    const a = run('ansible-playbook', [pb, '-i', inv, '-e', 'ansible_hostname=from-e'], project, ansibleEnv());
    assert.equal(a.code, 0, a.stdout + a.stderr);
    const [mine, theirs] = [JSON.parse(await readFile(mineFile, 'utf8')) as unknown[], JSON.parse(await readFile(theirsFile, 'utf8')) as unknown[]];
    assert.deepEqual(mine.slice(0, 2), ['from-e', 'from-play']);
    assert.notEqual(mine[2], 'from-e');
    assert.notEqual(mine[3], 'from-play');
    assert.deepEqual(mine, theirs);
  });

  it('setup as a task (gather_facts: false) with a filter sets only the matching facts, as Ansible\'s filter does', async () => {
    const dump = join(out, 'ferry-setup.json');
    const r = await ferryPlay('setup', {
      gather_facts: false,
      tasks: [
        { name: 'facts', 'ansible.builtin.setup': { filter: ['ansible_distribution*', 'ansible_user_id'] }, register: 'got' },
        { name: 'dump', copy: { content: '{{ got.ansible_facts | to_json }}', dest: dump } },
        { name: 'set for later tasks', assert: { that: ["ansible_distribution == ansible_facts['distribution']", 'ansible_pkg_mgr is not defined'] } },
      ],
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /Gathering Facts/);
    const mine = JSON.parse(await readFile(dump, 'utf8')) as Facts;
    const theirs = ansibleSetup('filter=ansible_distribution*,ansible_user_id');
    assert.deepEqual(Object.keys(mine).sort(), ['ansible_distribution', 'ansible_distribution_major_version', 'ansible_distribution_release', 'ansible_distribution_version', 'ansible_user_id']);
    for (const [k, v] of Object.entries(mine)) assert.deepEqual(v, theirs[k], k);
  });

  it('gathering = explicit in ansible.cfg: no Gathering Facts, and a fact used is bad input naming the fix', async () => {
    const cfgDir = join(project, 'explicit');
    await mkdir(cfgDir, { mode: 0o755 });
    await writeFile(join(cfgDir, 'ansible.cfg'), '[defaults]\ngathering = explicit\n');
    const pb = join(cfgDir, 'pb.yml');
    await writeFile(pb, stringify([{ hosts: 'all', tasks: [{ name: 'hello', debug: { msg: 'on {{ inventory_hostname }}' } }] }]));
    const ok = run(process.execPath, [CLI, 'run', pb, '-i', inv, '--plain'], cfgDir, { HOME: home });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.doesNotMatch(ok.stdout, /Gathering Facts/);
    assert.match(ok.stdout, /hello/);
    // the same play from the project folder (no cfg) gathers
    const gathered = run(process.execPath, [CLI, 'run', pb, '-i', inv, '--plain'], project, { HOME: home });
    assert.match(gathered.stdout, /Gathering Facts/);
    await writeFile(pb, stringify([{ hosts: 'all', tasks: [{ name: 'os', debug: { msg: '{{ ansible_distribution }}' }, when: "ansible_os_family == 'Debian'" }] }]));
    const bad = run(process.execPath, [CLI, 'run', pb, '-i', inv, '--plain'], cfgDir, { HOME: home });
    assert.equal(bad.code, 4, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /pb\.yml:\d+:\d+: undefined variable 'ansible_distribution'/);
    assert.match(bad.stderr, /pb\.yml:\d+:\d+: when: undefined variable 'ansible_os_family'/);
    assert.match(bad.stderr, /set gather_facts: true \(or run setup\)/);
    // ANSIBLE_GATHERING=implicit wins over the file, as Ansible's environment does
    const env = run(process.execPath, [CLI, 'run', pb, '-i', inv, '--plain'], cfgDir, { HOME: home, ANSIBLE_GATHERING: 'implicit' });
    assert.equal(env.code, 0, env.stdout + env.stderr);
    assert.match(env.stdout, /Debian/);
  });

  it('a fact read at run time where none was gathered fails with the same hint', async () => {
    // a vars file named by a template may define anything: the name is checked at run time
    const vars = join(project, 'empty-vars.yml');
    await writeFile(vars, 'x: 1\n');
    const r = await ferryPlay('late', {
      gather_facts: false,
      vars: { which: vars },
      tasks: [{ include_vars: '{{ which }}' }, { name: 'os', debug: { msg: '{{ ansible_distribution }}' } }],
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /ansible_distribution.*set gather_facts: true \(or run setup\)/);
  });
});
