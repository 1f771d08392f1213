// INI value reading, YAML scalars and host ranges: the tables for Python literals, shell splitting
// and YAML scalars are real Python 3.11 / PyYAML output (test/fixtures/inventory/*.json), so ferry reads values as Ansible does.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parseYaml } from '../../runner/yaml-source.js';
import { PYYAML } from '../../runner/inventory/pyyaml-schema.js';
import {
  expandHostEntry,
  expandHostRange,
  HostRangeError,
  HostRangeTooLargeError,
  MAX_INVENTORY_HOSTS,
  MAX_RANGE_HOSTS,
  splitHostPort,
} from '../../runner/inventory/host-range.js';
import { parsePythonLiteral } from '../../runner/inventory/python-literal.js';
import { shlexSplit, ShlexError } from '../../runner/shlex.js';

const FIX = 'test/fixtures/inventory';
const literal = JSON.parse(readFileSync(`${FIX}/python-literal.json`, 'utf8')) as { cases: { input: string; output: unknown }[] };
const shlex = JSON.parse(readFileSync(`${FIX}/shlex.json`, 'utf8')) as { cases: { input: string; tokens?: string[]; error?: string }[] };

describe('inventory: Python literal values (ast.literal_eval)', function () {
  for (const c of literal.cases) {
    it(`${JSON.stringify(c.input)} -> ${JSON.stringify(c.output)}`, function () {
      assert.deepEqual(parsePythonLiteral(c.input), c.output);
    });
  }
});

describe('inventory: host-line splitting (shlex.split, comments=True)', function () {
  for (const c of shlex.cases) {
    it(`${JSON.stringify(c.input)}`, function () {
      if (c.error) assert.throws(() => shlexSplit(c.input, { comments: true }), (e: unknown) => e instanceof ShlexError && e.message === c.error);
      else assert.deepEqual(shlexSplit(c.input, { comments: true }), c.tokens);
    });
  }
});

describe('inventory: host ranges', function () {
  const ok: [string, string[]][] = [
    ['plain.example.com', ['plain.example.com']],
    ['www[1:3].example.com', ['www1.example.com', 'www2.example.com', 'www3.example.com']],
    ['www[01:03]', ['www01', 'www02', 'www03']],
    ['db-[99:101]-node', ['db-99-node', 'db-100-node', 'db-101-node']],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c']],
    ['x[Y:Z]', ['xY', 'xZ']],
    ['n[0:10:5]', ['n0', 'n5', 'n10']],
    ['n[:2]', ['n0', 'n1', 'n2']],
    ['r[1:2]-[a:b]', ['r1-a', 'r1-b', 'r2-a', 'r2-b']],
    ['proxmox-6-[01:03].lxc', ['proxmox-6-01.lxc', 'proxmox-6-02.lxc', 'proxmox-6-03.lxc']],
  ];
  for (const [pattern, hosts] of ok) {
    it(`${pattern} -> ${hosts.length} host(s)`, function () {
      assert.deepEqual(expandHostRange(pattern), hosts);
    });
  }
  const bad: [string, RegExp][] = [
    ['w[1:]', /no end value/],
    ['w[1-3]', /must be \[begin:end\]/],
    ['w[01:100]', /same length/],
    ['w[c:a]', /begin <= end/],
    ['w[1:a]', /two numbers or two letters/],
    ['w[1:3:0]', /positive integer/],
    ['w[1:3', /without a closing/],
    ['w[1:1000000]', /'w\[1:1000000\]' names 1,000,000 hosts, more than the 100,000 allowed/],
    ['w[1:1000][1:1000]', /names 1,000,000 hosts/],
    ['w[0:99999999999999999999]', /more than the 100,000 allowed/],
  ];
  for (const [pattern, message] of bad) {
    it(`${pattern} is rejected (${message.source})`, function () {
      assert.throws(() => expandHostRange(pattern), (e: unknown) => e instanceof HostRangeError && message.test(e.message));
    });
  }
  it('counts hosts before making any: a range at the limit expands, one past it is refused', function () {
    assert.equal(expandHostRange(`w[1:${MAX_RANGE_HOSTS}]`).length, MAX_RANGE_HOSTS);
    assert.throws(() => expandHostRange('w[1:3]', 2), (e: unknown) => e instanceof HostRangeTooLargeError && e.count === 3);
    assert.deepEqual(expandHostRange('w[5:1]'), []);
  });
  const entries: [string, number, RegExp][] = [
    ['web[1:1000000]', 0, /^host range 'web\[1:1000000\]' names 1,000,000 hosts; one range may name at most 100,000$/],
    ['web[1:10]:2222', MAX_INVENTORY_HOSTS - 5, /^host 'web\[1:10\]' \(10 hosts\) would take the inventory past 200,000 hosts, the most ferry loads$/],
    ['one', MAX_INVENTORY_HOSTS, /^host 'one' \(1 host\) would take the inventory past 200,000 hosts/],
    ['w[1-3]', 0, /^malformed host range: /],
  ];
  for (const [text, have, message] of entries) {
    it(`expandHostEntry(${text}) with ${have} hosts loaded is refused (${message.source.slice(1, 40)}...)`, function () {
      const r = expandHostEntry(text, have);
      assert.ok('message' in r, JSON.stringify(r).slice(0, 100));
      assert.match(r.message, message);
      assert.ok(r.hint);
    });
  }
  it('expandHostEntry gives names and port when there is room', function () {
    assert.deepEqual(expandHostEntry('web[1:2]:2222', MAX_INVENTORY_HOSTS - 2), { names: ['web1', 'web2'], port: 2222 });
  });

  const ports: [string, { name: string; port?: number }][] = [
    ['host', { name: 'host' }],
    ['host:2222', { name: 'host', port: 2222 }],
    ['web[1:3]:22', { name: 'web[1:3]', port: 22 }],
    ['web[1:3]', { name: 'web[1:3]' }],
    ['[fe80::1]:22', { name: 'fe80::1', port: 22 }],
    ['fe80::1', { name: 'fe80::1' }],
  ];
  for (const [text, want] of ports) {
    it(`splitHostPort(${text})`, function () {
      assert.deepEqual(splitHostPort(text), want);
    });
  }
});

describe('inventory: YAML scalars read as PyYAML reads them', function () {
  const pyyaml = JSON.parse(readFileSync(`${FIX}/pyyaml-scalars.json`, 'utf8')) as { cases: { input: string; output: unknown }[] };
  for (const c of pyyaml.cases) {
    it(`${JSON.stringify(c.input)} -> ${JSON.stringify(c.output)}`, function () {
      const doc = parseYaml(`value: ${c.input}`, 'scalar.yml', PYYAML) as { value: unknown };
      assert.deepEqual(doc.value, c.output);
    });
  }
});
