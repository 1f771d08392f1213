// The playbook language end to end against real sshd hosts: conditions, loops, handlers, blocks,
// failure policy, targeting, includes, delegation, facts, resume and check mode.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile, type CommonRunOptions } from '../../app/api.js';
import { ValidationError } from '../../runner/errors.js';
import { startSshdHosts, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';

describe('playbook language over real sshd @integration', function () {
  this.timeout(120_000);
  let hosts: SshdHost[];
  let dir: string;
  let inv: string;
  let n = 0;
  let names: string[];

  before(async () => {
    hosts = await startSshdHosts(3);
    names = hosts.map((h) => h.name);
    dir = await mkdtemp(join(tmpdir(), 'ferry-lang-'));
    await chmod(dir, 0o777);
    inv = await writeInventory(hosts, dir);
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs plays (given as data) and returns the reporter, the summary and a per-test work dir. */
  async function run(plays: unknown, opts: Partial<CommonRunOptions> = {}, work?: string) {
    const w = work ?? join(dir, `w${++n}`);
    await mkdir(w, { recursive: true });
    await chmod(w, 0o777);
    const pb = join(w, 'pb.yaml');
    await writeFile(pb, stringify(plays));
    const rep = new CollectingReporter();
    const summary = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir: join(w, '.state'), ...opts, extraVars: { w, ...opts.extraVars } });
    return { rep, summary, w, pb };
  }
  const log = (w: string, h: string) => readFile(join(w, `${h}.log`), 'utf8').then((s) => s.trim().split('\n'), () => [] as string[]);
  const mark = (what: string) => ({ shell: `echo ${what} >> {{ w }}/{{ inventory_hostname }}.log` });

  it('when: skips with the reason; register gives later tasks stdout, rc and changed', async () => {
    const { rep, summary, w } = await run([
      {
        hosts: 'all',
        tasks: [
          { name: 'probe', command: 'echo {{ inventory_hostname }}', register: 'p', changed_when: false },
          { name: 'only first', ...mark('first'), when: 'p.stdout == dummy or inventory_hostname == groups.all[0]', vars: { dummy: 'x' } },
          { name: 'rc known', ...mark('rc{{ p.rc }}'), when: ['p.rc == 0', 'p is not changed', 'p.stdout_lines | length == 1'] },
          { name: 'never', ...mark('never'), when: 'undefined_var is defined' },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.deepEqual(await log(w, names[0]!), ['first', 'rc0']);
    assert.deepEqual(await log(w, names[1]!), ['rc0']);
    assert.equal(rep.result('only first', names[1]!)!.status, 'skipped');
    assert.match(rep.result('only first', names[1]!)!.msg!, /when: .* was false/);
    assert.equal(rep.result('never', names[0]!)!.status, 'skipped');
  });

  it('Jinja2 values: guarded reads pass preflight, default(omit) drops a parameter, filters, lookups, and host output is never templated', async () => {
    const { rep, summary, w } = await run([
      {
        hosts: names[0],
        vars: { guests: [{ name: 'xr1', mem: 512 }, { name: 'xr2', mem: 2048 }], big: "{{ guests | selectattr('mem', '>', 1024) | map(attribute='name') | list }}" },
        tasks: [
          { name: 'guarded', ...mark('{{ maybe.x }}'), when: 'maybe is defined' },
          { name: 'defaults', ...mark("{{ maybe | default('dflt') }}-{{ big | join(',') }}-{{ '%03d' % guests | length }}") },
          { name: 'omit', file: { path: '{{ w }}/omitted', state: 'touch', mode: '{{ maybe_mode | default(omit) }}' } },
          { name: 'lookup', ...mark("{{ lookup('file', 'motd') }}") },
          { name: 'hostile output', command: "echo \"{{ '{{' }} lookup('env', 'HOME') {{ '}}' }}\"", register: 'out', changed_when: false },
          { name: 'stays text', ...mark('{{ out.stdout | quote }}') },
        ],
      },
    ], {}, await (async () => {
      const wd = join(dir, `w${++n}`);
      await mkdir(join(wd, 'files'), { recursive: true });
      await chmod(wd, 0o777);
      await writeFile(join(wd, 'files', 'motd'), 'from-a-file\n');
      return wd;
    })());
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.equal(rep.result('guarded', names[0]!)!.status, 'skipped');
    assert.deepEqual(await log(w, names[0]!), ['dflt-xr2-002', 'from-a-file', "{{ lookup('env', 'HOME') }}"]);
    assert.ok(existsSync(join(w, 'omitted')));
  });

  it('free-form arguments as Ansible reads them: options taken out of a command line, debug var= and msg=; set_fact', async () => {
    const { rep, summary, w } = await run([
      {
        hosts: names[0],
        vars: { v: 'seen' },
        tasks: [
          { name: 'chdir', command: 'pwd chdir={{ w }}', register: 'where', changed_when: false },
          { name: 'creates', shell: 'echo ran >> {{ w }}/ran creates={{ w }}/ran' },
          { name: 'creates again', shell: 'echo ran >> {{ w }}/ran creates={{ w }}/ran' },
          { name: 'var', debug: 'var=where.stdout' },
          { name: 'msg', debug: 'msg="text {{ v }}"' },
          { name: 'set_fact', 'ansible.builtin.set_fact': { fact: '{{ v }}-{{ where.stdout | basename }}', cacheable: true } },
          { name: 'set_fact kv', set_fact: 'other=two' },
          { name: 'facts set', debug: { msg: '{{ fact }} {{ other }} {{ cacheable | default("no cacheable var") }}' } },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.equal((await readFile(join(w, 'ran'), 'utf8')).trim(), 'ran');
    assert.equal(rep.result('creates again', names[0]!)!.status, 'ok');
    assert.match(rep.result('var', names[0]!)!.msg!, new RegExp(`where.stdout = ${w}`));
    assert.equal(rep.result('msg', names[0]!)!.msg, 'text seen');
    assert.equal(rep.result('facts set', names[0]!)!.msg, `seen-${w.split('/').pop()} two no cacheable var`);
  });

  it('environment: play, block and task values reach the commands (inner ones win), also from a templated mapping and in handlers', async () => {
    const { rep, summary, w } = await run([
      {
        hosts: names[0],
        vars: { proxy_env: { FERRY_PROXY: 'http://proxy:3128', FERRY_LEVEL: 'var' } },
        environment: { FERRY_LEVEL: 'play', FERRY_PLAY: 'p' },
        tasks: [
          { name: 'play env', shell: 'echo "$FERRY_LEVEL $FERRY_PLAY" >> {{ w }}/env', notify: 'h' },
          {
            block: [
              { name: 'task env', shell: 'echo "$FERRY_LEVEL $FERRY_PLAY $FERRY_TASK" >> {{ w }}/env', environment: { FERRY_LEVEL: 'task', FERRY_TASK: '{{ inventory_hostname }}' } },
              { name: 'block env', command: 'printenv FERRY_LEVEL', register: 'b', changed_when: false },
              { name: 'block env seen', shell: 'echo "{{ b.stdout }}" >> {{ w }}/env' },
            ],
            environment: { FERRY_LEVEL: 'block' },
          },
          { name: 'templated env', shell: 'echo "$FERRY_PROXY $FERRY_LEVEL" >> {{ w }}/env', environment: '{{ proxy_env }}' },
        ],
        handlers: [{ name: 'h', shell: 'echo "handler $FERRY_PLAY" >> {{ w }}/env' }],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.deepEqual((await readFile(join(w, 'env'), 'utf8')).trim().split('\n'), [
      'play p',
      `task p ${names[0]}`,
      'block',
      'http://proxy:3128 var',
      'handler p',
    ]);
  });

  it('timeout: a task over its time fails with the reason, its command stopped on the host; the next task still runs', async () => {
    const { rep, summary, w } = await run([
      {
        hosts: names[0],
        tasks: [
          { name: 'slow', shell: 'sleep 287; echo late > {{ w }}/late', timeout: 2, ignore_errors: true },
          { name: 'quick', shell: 'echo ran > {{ w }}/quick', timeout: 60 },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    const slow = rep.result('slow', names[0]!)!;
    assert.equal(slow.status, 'failed');
    assert.match(slow.msg!, /did not finish within its timeout of 2 s/);
    assert.equal((await readFile(join(w, 'quick'), 'utf8')).trim(), 'ran');
    const left = spawnSync('pgrep', ['-f', 'sleep 287']);
    assert.notEqual(left.status, 0, `the timed-out command still runs: ${left.stdout}`);
    assert.ok(!existsSync(join(w, 'late')));
  });

  it('loop: over a list variable, with labels, item, and per-item registered results', async () => {
    const { rep, summary, w } = await run([
      {
        hosts: names[0],
        vars: { guests: [{ name: 'xr1', mem: 512 }, { name: 'xr2', mem: 1024 }, { name: 'xr3', mem: 256 }] },
        tasks: [
          { name: 'each', shell: 'echo {{ item.name }}:{{ item.mem }} >> {{ w }}/{{ inventory_hostname }}.log', loop: '{{ guests }}', loop_control: { label: '{{ item.name }}' }, when: 'item.mem >= 512', register: 'out' },
          { name: 'count', assert: { that: ['out.results | length == 3', 'out.results[2].skipped', 'out.results[0].item.name == "xr1"', 'out.changed'] } },
          { name: 'literal list', ...mark('{{ item }}'), loop: ['a', 'b'] },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results()));
    assert.deepEqual(await log(w, names[0]!), ['xr1:512', 'xr2:1024', 'a', 'b']);
    const items = rep.events.filter((e) => e.type === 'task_result' && e.task === 'each' && e.item !== undefined).map((e) => (e as { item: string }).item);
    assert.deepEqual(items, ['xr1', 'xr2', 'xr3']);
  });

  it('a task whose step fails: its event names the planned steps (why it was planned), a no_log one does not', async () => {
    const { rep, summary } = await run([
      {
        hosts: names[0],
        tasks: [
          { name: 'fails', command: 'sh -c "exit 3"', ignore_errors: true },
          { name: 'hidden', command: 'sh -c "exit 4"', no_log: true, ignore_errors: true },
          { name: 'ok', command: 'true' },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results()));
    const ev = (task: string) => rep.events.find((e) => e.type === 'task_result' && e.task === task) as { status: string; steps?: string[] } | undefined;
    assert.equal(ev('fails')?.status, 'failed');
    assert.deepEqual(ev('fails')?.steps, ["run sh -c 'exit 3'"]);
    assert.equal(ev('hidden')?.status, 'failed');
    assert.equal(ev('hidden')?.steps, undefined);
    // a real run's success keeps its events as they were (no steps: -v prints them from the plan)
    assert.equal(ev('ok')?.steps, undefined);
  });

  it('loop over a non-list: refused at load time when the value is known then, else fails the host with the file:line', async () => {
    await assert.rejects(
      run([{ hosts: names[0], vars: { notalist: 'abc' }, tasks: [{ name: 'bad', debug: { msg: '{{ item }}' }, loop: '{{ notalist }}' }] }]),
      (e: unknown) => e instanceof ValidationError && /pb\.yaml:\d+:\d+: loop: \{\{ notalist \}\} is the string "abc" \(set in play vars at .*pb\.yaml:\d+/.test(e.message),
    );
    // A value set at run time is known only then.
    const { rep, summary } = await run([{ hosts: names[0], tasks: [{ set: { notalist: 'abc' } }, { name: 'bad', debug: { msg: '{{ item }}' }, loop: '{{ notalist }}' }] }]);
    assert.equal(summary.exitCode, 2);
    assert.match(rep.result('bad', names[0]!)!.msg!, /pb\.yaml:\d+.*loop must be a list/);
  });

  it('handlers: run once, in definition order, at the end or at flush_handlers; not on a failed host unless forced', async () => {
    const plays = (failOn: string) => [
      {
        hosts: 'all',
        tasks: [
          { name: 'change a', ...mark('a'), notify: ['h2', 'h1'] },
          { name: 'change b', ...mark('b'), notify: 'h1' },
          { name: 'unchanged', command: 'true', changed_when: false, notify: 'h3' },
          { meta: 'flush_handlers' },
          { name: 'after flush', ...mark('c'), notify: 'h2' },
          { name: 'maybe fail', command: 'false', when: `inventory_hostname == "${failOn}"` },
        ],
        handlers: [
          { name: 'h1', ...mark('H1') },
          { name: 'h2', ...mark('H2') },
          { name: 'h3', ...mark('H3') },
        ],
      },
    ];
    const { w, summary } = await run(plays(names[2]!));
    assert.equal(summary.exitCode, 2);
    assert.deepEqual(await log(w, names[0]!), ['a', 'b', 'H1', 'H2', 'c', 'H2']);
    assert.deepEqual(await log(w, names[2]!), ['a', 'b', 'H1', 'H2', 'c'], 'a failed host runs no handlers');
    const forced = await run(plays(names[2]!), { forceHandlers: true });
    assert.deepEqual(await log(forced.w, names[2]!), ['a', 'b', 'H1', 'H2', 'c', 'H2']);
  });

  it('meta end_play / end_batch / end_host: which hosts stop, whether later batches run, and no handlers for an ended host (as ansible-core 2.14)', async () => {
    const plays = (action: string, serial?: number) => [
      {
        hosts: 'all',
        ...(serial ? { serial } : {}),
        tasks: [
          { name: 'before', ...mark('a'), notify: 'h' },
          { meta: action, when: `inventory_hostname == "${names[0]}"` },
          { name: 'after', ...mark('b') },
        ],
        handlers: [{ name: 'h', ...mark('H') }],
      },
      { hosts: 'all', tasks: [{ name: 'next play', ...mark('p2') }] },
    ];
    const logs = async (w: string) => Promise.all(names.map((h) => log(w, h)));
    // True for one host: the play ends for all of them, handlers included; the next play runs for all.
    const endPlay = await run(plays('end_play'));
    assert.equal(endPlay.summary.exitCode, 0);
    assert.deepEqual(await logs(endPlay.w), [['a', 'p2'], ['a', 'p2'], ['a', 'p2']]);
    // end_host: only that host stops.
    const endHost = await run(plays('end_host'));
    assert.deepEqual(await logs(endHost.w), [['a', 'p2'], ['a', 'b', 'H', 'p2'], ['a', 'b', 'H', 'p2']]);
    // serial: 1 — end_batch ends the first host's batch only; end_play also skips the batches to come.
    const endBatch = await run(plays('end_batch', 1));
    assert.deepEqual(await logs(endBatch.w), [['a', 'p2'], ['a', 'b', 'H', 'p2'], ['a', 'b', 'H', 'p2']]);
    const endPlaySerial = await run(plays('end_play', 1));
    assert.deepEqual(await logs(endPlaySerial.w), [['a', 'p2'], ['p2'], ['p2']]);
  });

  it('limits: at most N hosts at once per resource key, across tasks; other keys run at the same time; waiting is shown', async () => {
    // A holder takes an atomic lock named for its key (mkdir fails if another holds it: an overlap).
    const hold = (extra = '') =>
      `k={{ res }}; mkdir {{ w }}/$k.lock 2>/dev/null || echo "{{ inventory_hostname }} $k" >> {{ w }}/overlaps; ${extra} sleep 0.5; rmdir {{ w }}/$k.lock 2>/dev/null; echo "{{ inventory_hostname }}" >> {{ w }}/$k.done`;
    // g2's host and a g1 host each wait (at most 60 s) to see the other inside: only true if they run at once.
    const meet = `touch {{ w }}/in-$k; other=$([ $k = g1 ] && echo g2 || echo g1); i=0; while [ ! -e {{ w }}/in-$other ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -e {{ w }}/in-$other ] || echo "$k never met $other" >> {{ w }}/overlaps;`;
    const res = `{{ 'g2' if inventory_hostname == '${names[2]}' else 'g1' }}`;
    const linear = await run([{ hosts: 'all', vars: { res }, tasks: [{ name: 'copy', shell: hold(meet), limits: { '{{ res }}': 1 } }] }]);
    assert.equal(linear.summary.exitCode, 0, JSON.stringify(linear.rep.results()));
    assert.equal(existsSync(join(linear.w, 'overlaps')) ? await readFile(join(linear.w, 'overlaps'), 'utf8') : '', '');
    assert.equal((await readFile(join(linear.w, 'g1.done'), 'utf8')).trim().split('\n').length, 2);
    const waited = linear.rep.events.filter((e) => e.type === 'progress' && /waiting for g1 \(at most 1 at once\)/.test(e.progress.message ?? ''));
    assert.equal(waited.length, 1, 'the second g1 host says what it waits for');

    // Two keys, one extending the other (a hypervisor and its volume groups): the narrower is taken
    // first, so the host waiting for 'hv:a' holds no 'hv' slot and the 'hv:b' host runs beside the
    // first 'hv:a' one (each waits, at most 30 s, to see the other inside).
    const wait = (mine: string, theirs: string) =>
      `touch {{ w }}/${mine}-in; i=0; while [ ! -e {{ w }}/${theirs}-in ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ -e {{ w }}/${theirs}-in ] || echo "{{ inventory_hostname }} never met ${theirs}" >> {{ w }}/nested`;
    const nested = await run([{
      hosts: 'all', vars: { vg: `{{ 'b' if inventory_hostname == '${names[2]}' else 'a' }}` },
      tasks: [
        { name: 'copy', shell: `if [ {{ vg }} = a ]; then ${wait('a', 'b')}; else ${wait('b', 'a')}; fi`, limits: { hv: 2, 'hv:{{ vg }}': 1 } },
        // skipped for the 'a' hosts: they wait for no slot (the second would otherwise say it waits)
        { name: 'b only', command: 'true', when: "vg == 'b'", limits: { 'hv:{{ vg }}': 1 } },
      ],
    }]);
    assert.equal(nested.summary.exitCode, 0, JSON.stringify(nested.rep.results()));
    assert.equal(existsSync(join(nested.w, 'nested')) ? await readFile(join(nested.w, 'nested'), 'utf8') : '', '');
    const nestedWaits = nested.rep.events.flatMap((e) => (e.type === 'progress' && e.progress.message?.startsWith('waiting') ? [`${e.task}: ${e.progress.message}`] : []));
    assert.deepEqual(nestedWaits, ['copy: waiting for hv:a (at most 1 at once)']);
    assert.deepEqual(names.map((h) => nested.rep.result('b only', h)?.status), ['skipped', 'skipped', 'changed']);

    // One key shared by two tasks under the free strategy: never two holders, whichever task they are in.
    const free = await run([
      { hosts: 'all', strategy: 'free', vars: { res: 'vg' }, tasks: [{ name: 'first', shell: hold(), limits: { vg: '{{ 1 }}' } }, { name: 'second', shell: hold(), limits: { vg: 1 } }] },
    ]);
    assert.equal(free.summary.exitCode, 0, JSON.stringify(free.rep.results()));
    assert.equal(existsSync(join(free.w, 'overlaps')), false, existsSync(join(free.w, 'overlaps')) ? await readFile(join(free.w, 'overlaps'), 'utf8') : '');
    assert.equal((await readFile(join(free.w, 'vg.done'), 'utf8')).trim().split('\n').length, 6);

    // A number that renders to nothing usable fails that host's task, naming the line.
    const bad = await run([{ hosts: names[0], tasks: [{ name: 'zero', command: 'true', limits: { x: '{{ 0 }}' } }] }]);
    assert.equal(bad.summary.exitCode, 2);
    assert.match(bad.rep.result('zero', names[0]!)!.msg!, /pb\.yaml:\d+.*limits: 'x' must be a whole number of hosts from 1, got 0/);
    // Written wrong: refused at load time, before any host is contacted.
    await assert.rejects(run([{ hosts: names[0], tasks: [{ name: 'list', command: 'true', limits: ['vg1'] }] }]), (e: unknown) => e instanceof ValidationError && /pb\.yaml:\d+.*'limits' must be a mapping/.test(e.message));
  });

  it('blocks: rescue runs for the failed hosts, always for all; keywords are inherited; the recap counts rescued', async () => {
    const { w, summary, rep } = await run([
      {
        hosts: 'all',
        tasks: [
          {
            name: 'guarded',
            vars: { tag: 'B' },
            when: `inventory_hostname != "${names[2]}"`,
            block: [
              { name: 'step1', ...mark('{{ tag }}1') },
              { name: 'boom', command: 'false', when: `inventory_hostname == "${names[0]}"` },
              { name: 'step2', ...mark('{{ tag }}2') },
            ],
            rescue: [{ name: 'fix', ...mark('rescued') }],
            always: [{ name: 'cleanup', ...mark('always') }],
          },
          { name: 'after', ...mark('after') },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.deepEqual(await log(w, names[0]!), ['B1', 'rescued', 'always', 'after']);
    assert.deepEqual(await log(w, names[1]!), ['B1', 'B2', 'always', 'after']);
    assert.deepEqual(await log(w, names[2]!), ['after'], 'the block when: is inherited by every task in it');
    assert.equal(summary.recap[names[0]!]!.rescued, 1);
    assert.equal(summary.recap[names[0]!]!.failed, 0);
  });

  it('a failing rescue leaves the host failed, and always still runs', async () => {
    const { w, summary } = await run([
      { hosts: names[0], tasks: [{ block: [{ command: 'false' }], rescue: [{ command: 'false' }], always: [mark('always')] }, mark('never')] },
    ]);
    assert.equal(summary.exitCode, 2);
    assert.deepEqual(await log(w, names[0]!), ['always']);
  });

  it('ignore_errors goes on; retries/until retry until the condition holds', async () => {
    const { w, summary, rep } = await run([
      {
        hosts: names[0],
        tasks: [
          { name: 'ignored', command: 'false', ignore_errors: true },
          { name: 'retry', shell: 'echo x >> {{ w }}/count; wc -l < {{ w }}/count', register: 'r', until: 'r.stdout | int >= 3', retries: 5, delay: 0 },
          mark('done'),
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0);
    assert.equal(summary.recap[names[0]!]!.ignored, 1);
    assert.equal((await readFile(join(w, 'count'), 'utf8')).trim().split('\n').length, 3);
    assert.equal(rep.result('retry', names[0]!)!.status, 'changed');
    assert.deepEqual(await log(w, names[0]!), ['done']);
  });

  it('any_errors_fatal stops every host; max_fail_percentage stops when too many fail', async () => {
    const fatal = await run([{ hosts: 'all', any_errors_fatal: true, tasks: [{ command: 'false', when: `inventory_hostname == "${names[1]}"` }, mark('next')] }]);
    for (const h of names) assert.deepEqual(await log(fatal.w, h), []);
    const pct = await run([{ hosts: 'all', max_fail_percentage: 30, tasks: [{ command: 'false', when: `inventory_hostname == "${names[1]}"` }, mark('next')] }]);
    for (const h of names) assert.deepEqual(await log(pct.w, h), [], '1 of 3 failed is 33% > 30%');
    const ok = await run([{ hosts: 'all', max_fail_percentage: 50, tasks: [{ command: 'false', when: `inventory_hostname == "${names[1]}"` }, mark('next')] }]);
    assert.deepEqual(await log(ok.w, names[0]!), ['next']);
  });

  it('serial: rolling batches finish the whole play before the next batch starts', async () => {
    const { w, summary } = await run([{ hosts: 'all', serial: [1, 2], tasks: [{ shell: 'echo {{ inventory_hostname }}-t1 >> {{ w }}/order' }, { shell: 'echo {{ inventory_hostname }}-t2 >> {{ w }}/order' }] }]);
    assert.equal(summary.exitCode, 0);
    const order = (await readFile(join(w, 'order'), 'utf8')).trim().split('\n');
    assert.deepEqual(order.slice(0, 2), [`${names[0]}-t1`, `${names[0]}-t2`]);
    assert.deepEqual(new Set(order.slice(2, 4)), new Set([`${names[1]}-t1`, `${names[2]}-t1`]));
  });

  it('throttle: on a task, a block (each of its tasks), a play and handlers, at most that many hosts at once — the hosts\' own timeline shows it', async () => {
    // Each host appends a start and an end time (ns) around a short sleep to one file; the most
    // intervals open at once is what ran concurrently on the hosts themselves.
    const span = (tag: string) => ({ shell: `echo "s ${tag} $(date +%s%N)" >> {{ w }}/timeline; sleep 0.6; echo "e ${tag} $(date +%s%N)" >> {{ w }}/timeline` });
    const widest = async (w: string, tag: string): Promise<number> => {
      const events = (await readFile(join(w, 'timeline'), 'utf8')).trim().split('\n').map((l) => l.split(' ')).filter(([, t]) => t === tag);
      assert.equal(events.length, 2 * names.length, `every host ran ${tag}`);
      let open = 0;
      let most = 0;
      // an end before a start at the same instant: touching intervals do not overlap
      for (const [kind] of events.sort((a, b) => Number(BigInt(a[2]!) - BigInt(b[2]!)) || (a[0] === 'e' ? -1 : 1))) most = Math.max(most, (open += kind === 's' ? 1 : -1));
      return most;
    };
    const { w, summary, rep } = await run([
      {
        hosts: 'all',
        handlers: [{ name: 'h', throttle: 1, ...span('handler') }],
        tasks: [
          { name: 'free', ...span('free') },
          { name: 'one', throttle: 1, ...span('one'), notify: 'h' },
          { block: [{ name: 'b1', ...span('b1') }, { name: 'b2', throttle: 3, ...span('b2') }], throttle: 2 },
        ],
      },
      { hosts: 'all', strategy: 'free', throttle: 1, tasks: [{ name: 'play', ...span('play') }] },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.equal(await widest(w, 'free'), 3, 'without throttle the three hosts overlap (the check can fail)');
    assert.equal(await widest(w, 'one'), 1);
    assert.equal(await widest(w, 'b1'), 2, "the block's throttle applies to each of its tasks");
    assert.equal(await widest(w, 'b2'), 2, 'a task cannot raise the throttle of its block');
    assert.equal(await widest(w, 'play'), 1, "the play's throttle holds for the free strategy's hosts too");
    assert.equal(await widest(w, 'handler'), 1);
  });

  it('--limit, --tags, --skip-tags and --start-at-task select what runs', async () => {
    const plays = [
      {
        hosts: 'all',
        tasks: [
          { name: 't1', ...mark('t1'), tags: ['one'] },
          { name: 't2', ...mark('t2'), tags: 'two' },
          { name: 't3', ...mark('t3'), tags: ['always'] },
          { name: 't4', ...mark('t4'), tags: ['never', 'debugonly'] },
          { name: 't5', block: [mark('t5')], tags: ['one'] },
        ],
      },
    ];
    const lim = await run(plays, { limit: names[1] });
    assert.deepEqual(await log(lim.w, names[0]!), []);
    assert.deepEqual(await log(lim.w, names[1]!), ['t1', 't2', 't3', 't5']);
    const tags = await run(plays, { tags: ['one'], limit: names[0] });
    assert.deepEqual(await log(tags.w, names[0]!), ['t1', 't3', 't5']);
    const skip = await run(plays, { skipTags: ['one'], limit: names[0] });
    assert.deepEqual(await log(skip.w, names[0]!), ['t2', 't3']);
    const never = await run(plays, { tags: ['debugonly'], limit: names[0] });
    assert.deepEqual(await log(never.w, names[0]!), ['t3', 't4']);
    const start = await run(plays, { startAtTask: 't3', limit: names[0] });
    assert.deepEqual(await log(start.w, names[0]!), ['t3', 't5']);
  });

  it('import_tasks and include_tasks run task files with their own vars', async () => {
    const w = join(dir, 'inc');
    await mkdir(w, { recursive: true });
    await chmod(w, 0o777);
    await writeFile(join(w, 'sub.yaml'), stringify([{ name: 'sub', shell: 'echo {{ what }} >> {{ w }}/{{ inventory_hostname }}.log' }]));
    const { summary, rep } = await run(
      [
        {
          hosts: names[0],
          vars: { file: 'sub.yaml' },
          tasks: [
            { import_tasks: 'sub.yaml', vars: { what: 'imported' } },
            { include_tasks: '{{ file }}', vars: { what: 'included-{{ item }}' }, loop: [1, 2] },
            { include_tasks: 'sub.yaml', vars: { what: 'skipped' }, when: 'false' },
          ],
        },
      ],
      {},
      w,
    );
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.deepEqual(await log(w, names[0]!), ['imported', 'included-1', 'included-2']);
  });

  it('delegate_to runs on another host with this host\'s variables; run_once runs once and shares the result', async () => {
    const { w, summary, rep } = await run([
      {
        hosts: `${names[0]}:${names[1]}`,
        tasks: [
          { name: 'deleg-by-task-var', command: 'true', changed_when: false, vars: { via: names[2] }, delegate_to: '{{ via }}' },
          { name: 'deleg', shell: `echo from-{{ inventory_hostname }}-on-$(cat /proc/sys/kernel/hostname >/dev/null; echo x) >> {{ w }}/delegated.log`, delegate_to: names[2] },
          { name: 'once', command: 'echo {{ inventory_hostname }}', register: 'o', run_once: true },
          { name: 'shared', shell: 'echo {{ o.stdout }} >> {{ w }}/{{ inventory_hostname }}.log' },
        ],
      },
    ]);
    assert.equal(summary.exitCode, 0);
    const del = (await readFile(join(w, 'delegated.log'), 'utf8')).trim().split('\n').sort();
    assert.deepEqual(del, [`from-${names[0]}-on-x`, `from-${names[1]}-on-x`].sort());
    // the report names the host the task ran on, rendered with the task's own vars
    assert.equal(rep.result('deleg-by-task-var', names[0]!)?.delegatedTo, names[2]);
    assert.deepEqual(await log(w, names[0]!), [names[0]]);
    assert.deepEqual(await log(w, names[1]!), [names[0]], 'run_once shares its result with the other hosts');
  });

  it('gather_facts: one round trip per host gives OS, kernel, memory and tools', async () => {
    const { summary, rep } = await run([
      { hosts: 'all', gather_facts: true, tasks: [{ name: 'facts', assert: { that: ['ferry_facts.os.family == "debian"', 'ferry_facts.kernel | length > 0', 'ferry_facts.memoryMb > 0', 'ansible_os_family is defined'] } }] },
    ]);
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results()));
    assert.equal(rep.results().filter((r) => r.task === 'Gathering Facts').length, 3);
  });

  it('--resume continues each host from the first task that did not complete', async () => {
    const w = join(dir, 'resume');
    await mkdir(w, { recursive: true });
    await chmod(w, 0o777);
    const plays = [
      {
        hosts: `${names[0]}:${names[1]}`,
        tasks: [
          { name: 'one', ...mark('one') },
          { name: 'state', copy: { dest: '{{ w }}/state-{{ inventory_hostname }}', content: 'x' } },
          { name: 'reg', command: 'echo saved-{{ inventory_hostname }}', register: 'saved' },
          { name: 'gate', command: 'test -e {{ w }}/go-{{ inventory_hostname }}', changed_when: false },
          { name: 'two', shell: 'echo two-{{ saved.stdout }} >> {{ w }}/{{ inventory_hostname }}.log' },
        ],
      },
    ];
    await writeFile(join(w, `go-${names[1]}`), '');
    const first = await run(plays, {}, w);
    assert.equal(first.summary.exitCode, 2);
    assert.deepEqual(await log(w, names[0]!), ['one']);
    await writeFile(join(w, `go-${names[0]}`), '');
    // what a completed idempotent task made was undone meanwhile (as an always: unmount would)
    await rm(join(w, `state-${names[0]}`));
    const second = await run(plays, { resume: true }, w);
    assert.ok(existsSync(join(w, `state-${names[0]}`)), 'a completed idempotent task is re-planned on resume');
    assert.equal(second.rep.result('state', names[1]!)!.status, 'ok');
    assert.equal(second.rep.result('one', names[0]!)!.status, 'skipped');
    assert.equal(second.summary.exitCode, 0, JSON.stringify(second.rep.results()));
    assert.deepEqual(await log(w, names[0]!), ['one', `two-saved-${names[0]}`], 'completed tasks are not run again; registered values survive');
    assert.deepEqual(await log(w, names[1]!), ['one', `two-saved-${names[1]}`]);
    const state = await readFile(join(w, '.state', (await import('node:fs')).readdirSync(join(w, '.state'))[0]!), 'utf8');
    assert.doesNotMatch(state, /password/i);
  });

  it('chroot: runs a task\'s commands and file edits inside a root, globs expanded there', async function () {
    if (!existsSync('/bin/busybox')) {
      console.warn('SKIPPED: the chroot keyword test needs /bin/busybox (Debian package busybox-static)');
      this.skip();
    }
    const root = join(dir, 'root');
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'etc'), { recursive: true });
    await mkdir(join(root, 'debs'), { recursive: true });
    const { copyFile, symlink } = await import('node:fs/promises');
    await copyFile('/bin/busybox', join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    for (const app of ['sh', 'cat', 'mv', 'rm', 'chmod', 'chown', 'mkdir', 'ls', 'test', 'echo', 'stat', 'sha256sum', 'printf', 'id', 'grep', 'wc']) {
      await symlink('busybox', join(root, 'bin', app));
    }
    await writeFile(join(root, 'etc/fstab'), '/dev/xvda1 / ext4 defaults 0 1\n');
    await writeFile(join(root, 'debs/a.deb'), '');
    await writeFile(join(root, 'debs/b.deb'), '');
    const { summary, rep } = await run(
      [
        {
          hosts: names[0],
          become: true,
          vars: { r: root },
          tasks: [
            { name: 'glob', shell: 'ls /debs/*.deb', chroot: '{{ r }}', register: 'g', changed_when: false },
            { name: 'edit', lineinfile: { path: '/etc/fstab', regexp: '^/dev/xvda1', line: '/dev/vda1 / ext4 defaults 0 1' }, chroot: '{{ r }}' },
            { name: 'write', copy: { dest: '/etc/hostname', content: 'xr1\n' }, chroot: '{{ r }}' },
            { name: 'saw guest files', assert: { that: ['g.stdout_lines == ["/debs/a.deb", "/debs/b.deb"]'] } },
          ],
        },
      ],
    );
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    assert.equal(await readFile(join(root, 'etc/fstab'), 'utf8'), '/dev/vda1 / ext4 defaults 0 1\n');
    assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'xr1\n');
    assert.equal(existsSync('/etc/hostname') && (await readFile('/etc/hostname', 'utf8')) === 'xr1\n', false, 'the host itself was written');
  });

  it('check mode: registered values are the planned ones; dependent tasks say so instead of failing', async () => {
    const work = join(dir, 'checkdep');
    const { summary, rep } = await run(
      [
        {
          hosts: names[0],
          vars: { d: work },
          tasks: [
            { name: 'mkdir', file: { path: '{{ d }}', state: 'directory' }, register: 'mk' },
            { name: 'uses planned value', debug: { msg: 'changed={{ mk.changed }}' }, when: 'mk.changed' },
            { name: 'file inside', copy: { dest: '{{ d }}/f', content: 'x' } },
            { name: 'edit inside', lineinfile: { path: '{{ d }}/f', line: 'y' } },
            { name: 'read it', command: 'cat {{ d }}/f', register: 'content', changed_when: false, check_mode: false, ignore_errors: true },
            { name: 'uses a value only a real run has', set: { first: '{{ mk.nosuchkey }}' } },
          ],
        },
      ],
      { check: true },
    );
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results()));
    assert.equal(existsSync(work), false);
    assert.equal(rep.result('uses planned value', names[0]!)!.status, 'ok');
    assert.equal(rep.result('edit inside', names[0]!)!.status, 'changed');
    assert.match(rep.result('edit inside', names[0]!)!.msg!, /depends on earlier change/);
    assert.equal(rep.result('uses a value only a real run has', names[0]!)!.status, 'changed');
    assert.match(rep.result('uses a value only a real run has', names[0]!)!.msg!, /depends on earlier change.*undefined variable/);
  });

  it('check mode: failed_when and changed_when on what planned commands would print wait for the real run', async () => {
    const task = { command: 'sh -c "exit 2"', register: 'r', failed_when: 'r.rc not in [0, 2]', changed_when: 'r.rc == 0' };
    const checked = await run([{ hosts: names[0], tasks: [{ name: 'probe', ...task }] }], { check: true });
    assert.equal(checked.summary.exitCode, 0, JSON.stringify(checked.rep.results()));
    const planned = checked.rep.result('probe', names[0]!)!;
    assert.equal(planned.status, 'changed');
    assert.match(planned.msg!, /would run/);
    // the same conditions are still applied for real: rc 2 is not a failure, and no change
    const real = await run([{ hosts: names[0], tasks: [{ name: 'probe', ...task }] }]);
    assert.equal(real.summary.exitCode, 0, JSON.stringify(real.rep.results()));
    assert.equal(real.rep.result('probe', names[0]!)!.status, 'ok');
    // a condition that fails for a real reason still fails in check mode
    const bad = await run([{ hosts: names[0], tasks: [{ name: 'probe', command: 'true', register: 'r', failed_when: 'nosuch.rc == 1' }] }], { check: true });
    assert.notEqual(bad.summary.exitCode, 0);
  });
});
