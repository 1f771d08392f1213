// The run's secret values: which variable names mark one, what a no_log result adds, and masking.
import assert from 'node:assert/strict';
import { secret } from '../../runner/command.js';
import type { FerryEvent } from '../../runner/events.js';
import { NO_LOG_MESSAGE, SecretValues, censorResult, isSecretName, maskEvent } from '../../runner/secrets.js';

describe('secret values', () => {
  const NAMES: [string, boolean][] = [
    ['ansible_password', true],
    ['ansible_become_pass', true],
    ['ansible_become_password', true],
    ['ansible_ssh_pass', true],
    ['ferry_become_password', true],
    ['ferry_ssh_passphrase', true],
    ['db_passwd', true],
    ['password', true],
    ['DB_PASSWORD', true],
    ['ansible_ask_pass', false],
    ['ansible_become_ask_pass', false],
    ['password_file', false],
    ['bypass', false],
    ['compass', false],
    ['passwords_dir', false],
  ];
  for (const [name, want] of NAMES) {
    it(`${name} ${want ? 'is' : 'is not'} a secret name`, () => assert.equal(isSecretName(name), want));
  }

  it('marks password variables at any depth, after their templates are rendered, and not flags', () => {
    const s = new SecretValues();
    s.addNamed({
      ansible_become_pass: 'top-pw',
      users: [{ name: 'alice', password: 'alice-pw' }],
      db: { admin_password: 4711 },
      app_password: '{{ vault_app }}',
      ansible_ask_pass: 'yes-please',
      enable_password: true,
      hostvars: { other: { ansible_password: 'skipped-pw' } },
    }, new Set(['hostvars']));
    assert.equal(s.mask('top-pw alice alice-pw 4711 {{ vault_app }} yes-please true skipped-pw'), '******** alice ******** ******** {{ vault_app }} yes-please true skipped-pw');
  });

  it('masks a secret that contains another whole, and leaves text without one as it is', () => {
    const s = new SecretValues();
    s.add('abc');
    s.add('xxabcxx');
    s.add(secret('from-a-Secret'));
    s.add('');
    s.add('   ');
    assert.equal(s.size, 3);
    assert.equal(s.mask('xxabcxx abc from-a-Secret'), '******** ******** ********');
    assert.equal(s.mask('nothing here'), 'nothing here');
  });

  it('takes a no_log result\'s output and items (4 characters or more), not its times and counters', () => {
    const s = new SecretValues();
    s.addResult({
      stdout: 'line-one\nline-two\n0',
      stderr: 'ok',
      rc: 0,
      start: '2026-01-01T00:00:00.000Z',
      delta: '0.003s',
      ansible_loop_var: 'item',
      results: [{ item: { user: 'bob', token: 'tok-1234' } }],
    });
    assert.equal(s.mask('line-one line-two 0 ok tok-1234 bob item 0.003s 2026-01-01T00:00:00.000Z'), '******** ******** 0 ok ******** bob item 0.003s 2026-01-01T00:00:00.000Z');
  });

  it('a no_log file result\'s attributes (state, owner, mode, checksum...) mask nothing later; its content does', () => {
    const s = new SecretValues();
    s.addResult({ dest: '/etc/app/token', state: 'file', owner: 'root', group: 'root', mode: '0600', uid: 0, gid: 0, size: 1234, checksum: 'a'.repeat(40), content: 'tok-secret' });
    assert.equal(s.mask(`state file owner root mode 0600 size 1234 ${'a'.repeat(40)} tok-secret /etc/app/token`), `state file owner root mode 0600 size 1234 ${'a'.repeat(40)} ******** ********`);
  });

  it('masks deep copies and finds secrets inside values, skipping fields that throw', () => {
    const s = new SecretValues();
    s.add('hunter2');
    const v: Record<string, unknown> = { a: ['x hunter2 y', 3, true], b: { c: 'hunter2' } };
    Object.defineProperty(v, 'broken', { enumerable: true, get: () => { throw new Error('cannot render'); } });
    assert.deepEqual(s.maskDeep(v), { a: ['x ******** y', 3, true], b: { c: '********' } });
    assert.equal(v.a instanceof Array && v.a[0], 'x hunter2 y', 'the original is untouched');
    assert.equal(s.appearsIn(v), true);
    assert.equal(s.appearsIn({ a: ['hunter'] }), false);
  });

  it('a censored result serialises as Ansible prints it and is still read field by field', () => {
    const r = censorResult({ stdout: 'token', changed: true, failed: false });
    assert.equal(r.stdout, 'token');
    assert.deepEqual(JSON.parse(JSON.stringify({ r })), { r: { censored: NO_LOG_MESSAGE, changed: true } });
  });

  it('masks an event\'s messages, items, steps and diffs, not the names of its hosts and modules', () => {
    const s = new SecretValues();
    s.add('pw-1');
    s.add('sshd1');
    const ev: FerryEvent = {
      type: 'task_result', host: 'sshd1', task: 'set pw-1', module: 'command', status: 'changed', changed: true,
      msg: 'failed: pw-1', item: 'pw-1', steps: ['run echo pw-1'], diff: [{ path: '/x', before: '', after: 'pw-1\n' }], durationMs: 1,
    };
    assert.deepEqual(maskEvent(ev, s), {
      ...ev, task: 'set ********', msg: 'failed: ********', item: '********', steps: ['run echo ********'], diff: [{ path: '/x', before: '', after: '********\n' }],
    });
  });
});
