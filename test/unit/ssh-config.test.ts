import { strict as assert } from 'node:assert';
import { homedir } from 'node:os';
import { expandPathTokens, parseJump, resolveSshConfig } from '../../runner/transport/ssh-config.js';

const CONFIG = `
Host db
  HostName 10.0.0.9
  User admin
  Port 2200
  IdentityFile ~/.ssh/db_key
  IdentityFile /keys/%r@%h
  ProxyJump bastion,jump2:2022

Host bastion
  HostName bastion.example.org
  user ops
  ProxyJump none

Host *.lab
  HostName %h.example.net

Host *
  User fallback
  IdentityFile ~/.ssh/id_all
`;

describe('ssh_config resolution', () => {
  it('takes the first value of each setting, keeping every IdentityFile', () => {
    assert.deepEqual(resolveSshConfig(CONFIG, 'db'), {
      hostName: '10.0.0.9',
      user: 'admin',
      port: 2200,
      identityFiles: ['~/.ssh/db_key', '/keys/%r@%h', '~/.ssh/id_all'],
      proxyJump: ['bastion', 'jump2:2022'],
    });
  });

  it('is case-insensitive about keywords and treats ProxyJump none as no jump', () => {
    assert.deepEqual(resolveSshConfig(CONFIG, 'bastion'), {
      hostName: 'bastion.example.org',
      user: 'ops',
      identityFiles: ['~/.ssh/id_all'],
    });
  });

  it('expands %h in HostName and matches wildcards', () => {
    assert.equal(resolveSshConfig(CONFIG, 'vm1.lab').hostName, 'vm1.lab.example.net');
    assert.deepEqual(resolveSshConfig(CONFIG, 'other'), { user: 'fallback', identityFiles: ['~/.ssh/id_all'] });
  });

  it('expands ~ and %-tokens in paths', () => {
    const t = { host: '10.0.0.9', user: 'admin', port: 2200 };
    assert.equal(expandPathTokens('~/.ssh/k', t), `${homedir()}/.ssh/k`);
    assert.equal(expandPathTokens('/keys/%r@%h:%p%%', t), '/keys/admin@10.0.0.9:2200%');
  });

  const jumps: Array<[string, ReturnType<typeof parseJump>]> = [
    ['bastion', { host: 'bastion' }],
    ['ops@bastion', { host: 'bastion', user: 'ops' }],
    ['ops@bastion:2022', { host: 'bastion', user: 'ops', port: 2022 }],
    ['[::1]:2022', { host: '::1', port: 2022 }],
    ['ssh://me@h:23', { host: 'h', user: 'me', port: 23 }],
  ];
  for (const [spec, want] of jumps) {
    it(`parses ProxyJump hop ${spec}`, () => assert.deepEqual(parseJump(spec), want));
  }
});
