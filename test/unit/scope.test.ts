// A task's variables as the engine fills the precedence layers (runner/scope.ts): every place a
// variable can be set, in a table of which one wins, and the magic variables over all of them.
import assert from 'node:assert/strict';
import type { Play, RoleRef } from '../../runner/playbook/model.js';
import type { HostState } from '../../runner/host-state.js';
import type { Inherited } from '../../runner/inherited.js';
import type { InventoryView } from '../../runner/inventory-view.js';
import { RunScope, taskLayers, type PlayScope, type TaskScopeInput } from '../../runner/scope.js';
import { SecretValues } from '../../runner/secrets.js';
import { renderString } from '../../runner/template.js';
import { resolveLayers } from '../../runner/vars.js';

type Obj = Record<string, unknown>;

const COMMAND_LINE = { file: '<test>', line: 1 };

function play(over: Partial<Play> = {}): Play {
  return {
    index: 0, name: 'p', hosts: 'all', loc: COMMAND_LINE, vars: {}, varsFiles: [], varsFromFiles: {}, gatherFacts: false,
    strategy: 'linear', anyErrorsFatal: false, tags: [], tasks: [], handlers: [], baseDir: '/plays', ...over,
  };
}

const role = (over: Partial<RoleRef> = {}): RoleRef => ({ name: 'web', path: '/plays/roles/web', defaults: {}, vars: {}, ...over });

/** What the sources of a table row set, before it is made a TaskScopeInput. */
interface Sources {
  play: Partial<Play>;
  role: Partial<RoleRef>;
  varsFiles: Obj;
  outer: Obj;
  inner: Obj;
  task: Obj;
  inventory: Obj;
  registered: Obj;
  extra: Obj;
  facts: Obj;
}

/** Where a variable can be set, lowest precedence first, and how to set `x` there. */
const SOURCES: [string, (s: Sources, v: unknown) => void][] = [
  ['the play\'s role defaults', (s, v) => (s.play.roleDefaults = { x: v })],
  ['the task\'s role defaults', (s, v) => (s.role.defaults = { x: v })],
  ['inventory', (s, v) => (s.inventory.x = v)],
  // gathered facts as top-level variables (ansible_hostname, …): above the inventory, below the
  // play and -e, as in Ansible (before, they were set with the magic variables and beat -e)
  ['facts', (s, v) => (s.facts.x = v)],
  ['play vars', (s, v) => (s.play.vars = { x: v })],
  ['vars_files', (s, v) => (s.varsFiles.x = v)],
  ['the play\'s role vars', (s, v) => (s.play.roleVars = { x: v })],
  ['the task\'s role vars', (s, v) => (s.role.vars = { x: v })],
  ['an outer block', (s, v) => (s.outer.x = v)],
  ['an inner block', (s, v) => (s.inner.x = v)],
  ['task vars', (s, v) => (s.task.x = v)],
  ['registered / set_fact', (s, v) => (s.registered.x = v)],
  ['-e', (s, v) => (s.extra.x = v)],
];

/** A task in a role, in an inner block of an outer one, with the given sources set (by index) each to its value. */
function input(set: [number, unknown][]): TaskScopeInput {
  const s: Sources = { play: {}, role: {}, varsFiles: {}, outer: {}, inner: {}, task: {}, inventory: {}, registered: {}, extra: {}, facts: {} };
  for (const [at, v] of set) SOURCES[at]![1](s, v);
  return {
    host: 'h1',
    scope: { play: play(s.play), batch: ['h1', 'h2'], varsFiles: s.varsFiles },
    inh: { vars: [s.outer, s.inner], role: role(s.role) },
    task: s.task,
    inventory: s.inventory,
    groups: { all: ['h1', 'h2'] },
    hostvars: {},
    registered: s.registered,
    facts: s.facts,
    extra: s.extra,
    check: false,
  };
}

const varsOf = (i: TaskScopeInput): Obj => resolveLayers(taskLayers(i));

describe('a task\'s variables (runner/scope.ts)', () => {
  it('each place a variable can be set beats every place below it', () => {
    for (let hi = 1; hi < SOURCES.length; hi++) {
      for (let lo = 0; lo < hi; lo++) {
        const got = varsOf(input([[lo, lo], [hi, hi]])).x;
        assert.equal(got, hi, `${SOURCES[hi]![0]} should beat ${SOURCES[lo]![0]}, got the value of ${SOURCES[got as number]?.[0]}`);
      }
    }
  });

  it('a variable set in one place only is seen as it was set, whichever place', () => {
    for (const [at, [where]] of SOURCES.entries()) assert.equal(varsOf(input([[at, `from ${where}`]])).x, `from ${where}`, where);
  });

  const magic: { name: string; want: unknown }[] = [
    { name: 'inventory_hostname', want: 'h1' },
    { name: 'play_hosts', want: ['h1', 'h2'] },
    { name: 'ansible_play_hosts', want: ['h1', 'h2'] },
    { name: 'groups', want: { all: ['h1', 'h2'] } },
    { name: 'ansible_check_mode', want: false },
    { name: 'ferry_check_mode', want: false },
    { name: 'playbook_dir', want: '/plays' },
    { name: 'role_name', want: 'web' },
    { name: 'role_path', want: '/plays/roles/web' },
  ];
  for (const m of magic) {
    it(`the magic variable ${m.name} wins over -e, task vars and registered values`, () => {
      const i = input([]);
      i.extra = { [m.name]: 'from -e' };
      i.task = { [m.name]: 'from the task' };
      i.registered = { [m.name]: 'from register' };
      assert.deepEqual(varsOf(i)[m.name], m.want);
    });
  }

  it('ansible_facts and ferry_facts from gathering are magic: -e, task vars and registered values do not replace them', () => {
    const i = input([]);
    i.facts = { ansible_facts: { hostname: 'h1' }, ferry_facts: { ansible: { hostname: 'h1' } }, ansible_hostname: 'h1' };
    for (const layer of [i.extra, i.task, i.registered]) Object.assign(layer, { ansible_facts: 'no', ferry_facts: 'no' });
    const v = varsOf(i);
    assert.deepEqual([v.ansible_facts, v.ferry_facts], [{ hostname: 'h1' }, { ansible: { hostname: 'h1' } }]);
  });

  it('a fact is data, never a template; a play value that replaces it is rendered', () => {
    const i = input([]);
    i.facts = { ansible_hostname: '{{ secret }}', ansible_fqdn: 'x' };
    i.inventory = { secret: 's3cret', name: 'web' };
    i.scope = { ...i.scope, play: play({ vars: { ansible_fqdn: '{{ name }}.example' } }) };
    const v = varsOf(i);
    assert.deepEqual([v.ansible_hostname, v.ansible_fqdn], ['{{ secret }}', 'web.example']);
  });

  it('outside a role: the play\'s role defaults and vars only, no role_name or role_path', () => {
    const i = input([]);
    i.scope = { ...i.scope, play: play({ roleDefaults: { d: 'play defaults' }, roleVars: { v: 'play vars' } }) };
    i.inh = { vars: [] };
    const v = varsOf(i);
    assert.deepEqual([v.d, v.v, 'role_name' in v, 'role_path' in v], ['play defaults', 'play vars', false, false]);
  });

  it('check mode shows in ansible_check_mode and ferry_check_mode', () => {
    const i = input([]);
    i.check = true;
    const v = varsOf(i);
    assert.deepEqual([v.ansible_check_mode, v.ferry_check_mode], [true, true]);
  });

  it('hostvars is what the run gives, not a layer a task can override', () => {
    const i = input([]);
    i.hostvars = { h1: { a: 1 }, h2: { a: 2 } };
    i.task = { hostvars: {} };
    assert.deepEqual(varsOf(i).hostvars, { h1: { a: 1 }, h2: { a: 2 } });
  });
});

describe('RunScope: hostvars', () => {
  /** An inventory of `n` hosts web0.. with a template among their variables, counting whose variables are read. */
  function fleet(n: number, reads: string[]): InventoryView {
    const names = Array.from({ length: n }, (_, i) => `web${i}`);
    const vars = (h: string): Obj => ({ inventory_hostname: h, site: h === 'web1' ? 'ams1' : 'fra1', fqdn: '{{ inventory_hostname }}.{{ site }}.example.net', mode: '{{ app_mode }}' });
    return { resolve: () => names, hostVars: (h) => (reads.push(h), vars(h)), groups: () => ({ all: names, ungrouped: [] }), hostNames: () => names, has: (h) => names.includes(h) };
  }
  const scopeOf = (p: Play): PlayScope => ({ play: p, batch: ['web0'], varsFiles: {} });
  const inh = { vars: [], role: undefined } as unknown as Inherited;
  const host = (name: string, registered: Obj = {}) => ({ name, registered }) as unknown as HostState;

  it("a host's templates render with that host's variables and -e (as Ansible); registered values stay data", () => {
    const registered = new Map<string, Obj>([['web1', { out: { stdout: '{{ not_rendered }}' } }]]);
    const s = new RunScope({ inventory: fleet(3, []), extraVars: { app_mode: 'live' }, check: false, secrets: new SecretValues() }, (h) => registered.get(h));
    const v = s.vars(scopeOf(play({ vars: { site: 'play-site' } })), host('web0'), inh, {});
    const hv = v.hostvars as Record<string, Obj>;
    assert.equal(v.fqdn, 'web0.play-site.example.net', "the task's own fqdn: the play's site wins, as for any variable");
    assert.equal(hv.web1!.fqdn, 'web1.ams1.example.net', "web1's fqdn is web1's, not the task host's");
    assert.equal(hv.web2!.fqdn, 'web2.fra1.example.net');
    assert.equal(hv.web1!.mode, 'live');
    assert.equal(hv.web1!.app_mode, 'live');
    assert.deepEqual(hv.web1!.out, { stdout: '{{ not_rendered }}' });
    assert.deepEqual(Object.keys(hv), ['web0', 'web1', 'web2']);
    // read through an expression, and listed whole (JSON, as debug prints it)
    assert.equal(renderString("{{ hostvars['web2'].fqdn }}", v), 'web2.fra1.example.net');
    assert.equal((JSON.parse(JSON.stringify(hv)) as Record<string, Obj>).web2!.fqdn, 'web2.fra1.example.net');
  });

  it("a task's variables read no other host's variables until a template asks for them (cost independent of the inventory's size)", () => {
    const reads: string[] = [];
    const s = new RunScope({ inventory: fleet(200, reads), check: false, secrets: new SecretValues() }, () => undefined);
    const p = play({ vars: { app_mode: 'test' } });
    for (const h of ['web0', 'web1', 'web2']) s.vars(scopeOf(p), host(h), inh, {});
    assert.deepEqual(reads, ['web0', 'web1', 'web2']);
    const v = s.vars(scopeOf(p), host('web3'), inh, {});
    assert.equal(renderString('{{ hostvars.web150.fqdn }}', v), 'web150.fra1.example.net');
    assert.deepEqual(reads, ['web0', 'web1', 'web2', 'web3', 'web150']);
  });
});
