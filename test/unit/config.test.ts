import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findConfigFile, loadConfig, parseIni } from '../../runner/config.js';
import { ValidationError } from '../../runner/errors.js';

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc ? `${p.loc.file}:${p.loc.line}: ` : ''}${p.message}`);
    throw e;
  }
  assert.fail('no error');
}

describe('ansible.cfg: INI as configparser reads it', () => {
  const cases: { name: string; text: string; want: Record<string, Record<string, string>> }[] = [
    { name: '= and :, any key case', text: '[defaults]\nForks = 5\nremote_user: deploy\n', want: { defaults: { forks: '5', remote_user: 'deploy' } } },
    { name: 'comment lines and ; inline comments', text: '# c\n; c\n[defaults]\nforks = 5 ; five\nkey=a;b\n', want: { defaults: { forks: '5', key: 'a;b' } } },
    { name: 'an indented continuation line', text: '[defaults]\nroles_path = /a\n  :/b\n', want: { defaults: { roles_path: '/a\n:/b' } } },
    { name: 'an empty value', text: '[defaults]\nremote_user =\n', want: { defaults: { remote_user: '' } } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ini = parseIni(c.text, 'a.cfg');
      const got = Object.fromEntries([...ini].map(([s, m]) => [s, Object.fromEntries([...m].map(([k, v]) => [k, v.value]))]));
      assert.deepEqual(got, c.want);
    });
  }
  it('names the line of a stray line, a key before any section and a repeated key', () => {
    assert.deepEqual(problemsOf(() => parseIni('forks = 5\n[defaults]\nforks = 5\nforks = 6\njust words\n', 'a.cfg')), [
      'a.cfg:1: forks is set before any [section]',
      'a.cfg:4: forks is set twice in its section (first at line 3)',
      'a.cfg:5: cannot read "just words": not a [section], a key = value or a comment',
    ]);
  });
});

describe('ansible.cfg: where it is found and what it sets', () => {
  let dir: string;
  let home: string;
  let cwd: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-cfg-'));
    home = join(dir, 'home');
    cwd = join(dir, 'project');
    mkdirSync(home);
    mkdirSync(cwd);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('ANSIBLE_CONFIG, else ./ansible.cfg or ./ferry.cfg, else ~/.ansible.cfg', () => {
    assert.equal(findConfigFile({}, cwd, home), undefined);
    writeFileSync(join(home, '.ansible.cfg'), '');
    assert.equal(findConfigFile({}, cwd, home), join(home, '.ansible.cfg'));
    writeFileSync(join(cwd, 'ferry.cfg'), '');
    assert.equal(findConfigFile({}, cwd, home), join(cwd, 'ferry.cfg'));
    writeFileSync(join(cwd, 'ansible.cfg'), '');
    assert.equal(findConfigFile({}, cwd, home), join(cwd, 'ansible.cfg'));
    writeFileSync(join(dir, 'other.cfg'), '');
    assert.equal(findConfigFile({ ANSIBLE_CONFIG: join(dir, 'other.cfg') }, cwd, home), join(dir, 'other.cfg'));
  });

  it('skips ./ansible.cfg in a world-writable directory, with a warning, as Ansible does', () => {
    writeFileSync(join(cwd, 'ansible.cfg'), '');
    chmodSync(cwd, 0o777);
    const warnings: string[] = [];
    assert.equal(findConfigFile({}, cwd, home, warnings), undefined);
    assert.match(warnings[0]!, /world writable/);
  });

  it('reads every setting; relative paths are taken from the cfg file\'s folder; unknown keys are ignored', () => {
    writeFileSync(
      join(cwd, 'ansible.cfg'),
      '[defaults]\ninventory = hosts.ini, /etc/other\nforks = 3\nremote_user = deploy\nprivate_key_file = ~/.ssh/deploy\n' +
        'host_key_checking = False\nroles_path = roles:/usr/share/roles\nvault_password_file = .vault-pass\nnocows = 1\n' +
        '[privilege_escalation]\nbecome = yes\nbecome_user = admin\nbecome_method = sudo\n[ssh_connection]\npipelining = True\n',
    );
    const { warnings, ...c } = loadConfig({}, cwd, home);
    assert.deepEqual(warnings, []);
    assert.deepEqual(c, {
      file: join(cwd, 'ansible.cfg'),
      inventory: [join(cwd, 'hosts.ini'), '/etc/other'],
      forks: 3,
      remoteUser: 'deploy',
      privateKeyFile: join(home, '.ssh/deploy'),
      hostKeyChecking: false,
      rolesPath: [join(cwd, 'roles'), '/usr/share/roles'],
      vaultPasswordFile: join(cwd, '.vault-pass'),
      become: true,
      becomeUser: 'admin',
      becomeMethod: 'sudo',
    });
  });

  it('the ANSIBLE_* environment wins over the file (relative paths from the current directory)', () => {
    writeFileSync(join(cwd, 'ansible.cfg'), '[defaults]\ninventory = hosts.ini\nforks = 3\nremote_user = deploy\n');
    const c = loadConfig({ ANSIBLE_INVENTORY: 'a.yaml,b.yaml', ANSIBLE_FORKS: '7', ANSIBLE_BECOME: 'true' }, cwd, home);
    assert.deepEqual(c.inventory, [join(cwd, 'a.yaml'), join(cwd, 'b.yaml')]);
    assert.equal(c.forks, 7);
    assert.equal(c.remoteUser, 'deploy');
    assert.equal(c.become, true);
  });

  it('gathering: implicit, explicit or smart (any case), ANSIBLE_GATHERING over the file; anything else is a problem at its line', () => {
    writeFileSync(join(cwd, 'ansible.cfg'), '[defaults]\ngathering = Explicit\n');
    assert.equal(loadConfig({}, cwd, home).gathering, 'explicit');
    assert.equal(loadConfig({ ANSIBLE_GATHERING: 'smart' }, cwd, home).gathering, 'smart');
    writeFileSync(join(cwd, 'ansible.cfg'), '[defaults]\nforks = 2\ngathering = never\n');
    assert.deepEqual(problemsOf(() => loadConfig({}, cwd, home)), [`ansible.cfg:3: gathering must be implicit, explicit or smart, got 'never'`]);
  });

  it('a bad value is a problem at its file:line, all of them at once; a bad variable is named', () => {
    writeFileSync(join(cwd, 'ansible.cfg'), '[defaults]\nforks = many\nhost_key_checking = maybe\n[privilege_escalation]\nbecome_method = su\n');
    assert.deepEqual(problemsOf(() => loadConfig({ ANSIBLE_BECOME: 'perhaps' }, cwd, home)), [
      `ansible.cfg:2: forks must be a positive whole number, got 'many'`,
      `ansible.cfg:3: host_key_checking must be a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'`,
      'ANSIBLE_BECOME=perhaps: become must be a boolean (true/false, yes/no, on/off, 1/0), got \'perhaps\'',
      `ansible.cfg:5: become_method 'su' is not supported`,
    ]);
  });
});
