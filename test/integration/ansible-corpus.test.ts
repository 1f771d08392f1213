// The real-playbook corpus (issue 13): task files from public repositories, copied unchanged into
// test/fixtures/ansible-corpus (each entry's SOURCE.md names its origin and licence), each run with Debian's
// ansible-playbook and with ferry against the same sshd host, each tool into its own temporary directory.
// An entry ferry runs must leave the same files (content, mode, owner), the same recap and the same
// registered values; an entry ferry refuses must be refused before any host is contacted, with the message
// corpus.yaml gives. README.md's score table is rendered from corpus.yaml and checked here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlaybookFile } from '../../app/api.js';
import { ValidationError } from '../../runner/errors.js';
import { NOPASSWD_USER, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { skipWithoutAnsible, writeAnsibleInventory } from '../helpers/ansible.js';
import { CollectingReporter } from '../helpers/collect.js';
import { CORPUS, renderScore, type CorpusEntry } from '../helpers/ansible-corpus.js';

/** One file or folder a run left: what a person would compare by eye. */
interface Left {
  kind: 'file' | 'dir' | 'link';
  mode: string;
  uid: number;
  content?: string;
}

/** Every file, folder and link under `root`, by path relative to it; backup files' timestamps are blanked. */
function tree(root: string): Record<string, Left> {
  const out: Record<string, Left> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      const key = r.replace(/\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/, '.BACKUP~');
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isSymbolicLink()) out[key] = { kind: 'link', mode: '', uid: st.uid, content: readlinkSync(p).replace(root, 'DIR') };
      else if (st.isDirectory()) {
        out[key] = { kind: 'dir', mode, uid: st.uid };
        walk(r);
      } else out[key] = { kind: 'file', mode, uid: st.uid, content: readFileSync(p, 'utf8') };
    }
  };
  walk('');
  return out;
}

/**
 * The registered values compared (paths with the run's folder blanked): the outcome and output every task
 * has, and stat's answer. What else a file reads (copy's checksum, a backup_file) its own assert tasks check.
 */
const COMPARED = ['changed', 'failed', 'skipped', 'msg', 'rc', 'stdout', 'stdout_lines', 'stderr'];
const COMPARED_STAT = ['exists', 'isreg', 'isdir', 'islnk', 'checksum', 'md5', 'size', 'mode', 'lnk_target', 'pw_name', 'uid', 'gid', 'rusr', 'wusr', 'xusr', 'rgrp', 'wgrp', 'xgrp', 'roth', 'woth', 'xoth', 'isuid', 'isgid', 'nlink'];

/**
 * A value with the run's folder and backup timestamps blanked, and without the line Ansible's OpenSSH client
 * adds to a raw task's stderr when it closes its shared connection (printed on the controller, not by the host).
 */
function blank(v: unknown, dir: string): unknown {
  if (typeof v === 'string') return v.split(dir).join('DIR').replace(/\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/, '.BACKUP~').replace(/^Shared connection to \S+ closed\.\r\n$/m, '');
  if (Array.isArray(v)) return v.map((x) => blank(x, dir));
  return v;
}

/** The compared part of one task's result. */
function pick(r: Record<string, unknown> | undefined, dir: string, keys = COMPARED): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!r) return out;
  // a Python module's crash (its traceback) is no result a later task reads, only that it failed
  const crashed = typeof r.msg === 'string' && r.msg.startsWith('MODULE FAILURE');
  for (const k of keys) if (crashed && k !== 'failed' && k !== 'changed') continue;
  else if (r[k] !== undefined && !(k === 'failed' && r[k] === false) && !(k === 'skipped' && r[k] === false)) out[k] = blank(r[k], dir);
  const st = r.stat as Record<string, unknown> | undefined;
  if (st) out.stat = Object.fromEntries(COMPARED_STAT.filter((k) => st[k] !== undefined).map((k) => [k, blank(st[k], dir)]));
  return out;
}

/** One task's outcome as both tools report it. */
interface TaskSeen {
  status: string;
  /** ansible-playbook: the compared part of the registered value. */
  values: Record<string, unknown>;
  /** ferry: the whole registered value. */
  result?: Record<string, unknown>;
}

type Recap = Record<'ok' | 'changed' | 'failed' | 'skipped' | 'ignored' | 'rescued' | 'unreachable', number>;

describe('the real-playbook corpus: ansible-playbook and ferry on the same sshd host @integration @slow', function () {
  this.timeout(600_000);
  let sshd: SshdHost;
  let dir: string;
  let ferryInv: string;
  let ansibleInv: string;
  let uid: number;
  let gid: number;

  before(async function () {
    skipWithoutAnsible(this);
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'ferry-corpus-'));
    // the login user reaches its work folders inside
    chmodSync(dir, 0o755);
    ferryInv = await writeInventory([sshd], dir, NOPASSWD_USER);
    ansibleInv = writeAnsibleInventory(sshd, dir, NOPASSWD_USER);
    const id = (flag: string) => Number(spawnSync('id', [flag, NOPASSWD_USER], { encoding: 'utf8' }).stdout.trim());
    uid = id('-u');
    gid = id('-g');
  });
  after(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh folder the login user owns, for one tool's run of one entry. */
  function workDir(name: string): string {
    const w = join(dir, name);
    mkdirSync(w, { mode: 0o755 });
    chownSync(w, uid, gid);
    return w;
  }

  function ansibleRun(e: CorpusEntry, w: string): { tasks: TaskSeen[]; recap: Recap; code: number } {
    const home = join(dir, 'ansible-home');
    mkdirSync(home, { recursive: true });
    const r = spawnSync('ansible-playbook', ['-i', ansibleInv, e.play, '-e', JSON.stringify({ corpus_dir: w })], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_RETRY_FILES_ENABLED: '0', ANSIBLE_LOCAL_TEMP: join(home, 'tmp') },
    });
    const output = r.stdout + r.stderr;
    // some upstream files were written for a later ansible-core than Debian's: corpus.yaml says which fail
    assert.equal(r.status, e.ansible === 'fails' ? 2 : 0, `ansible-playbook on ${e.entry}:\n${output}`);
    const json = JSON.parse(r.stdout) as { plays: { tasks: { hosts: Record<string, Record<string, unknown>> }[] }[]; stats: Record<string, Record<string, number>> };
    const tasks = json.plays.flatMap((p) => p.tasks.map((t) => t.hosts[sshd.name]!).filter(Boolean).map((h): TaskSeen => ({
      status: h.skipped ? 'skipped' : h.failed ? 'failed' : h.changed ? 'changed' : 'ok',
      // gathering facts registers nothing
      values: h.action === 'gather_facts' ? {} : pick(h, w),
    })));
    const s = json.stats[sshd.name]!;
    return { tasks, recap: { ok: s.ok!, changed: s.changed!, failed: s.failures!, skipped: s.skipped!, ignored: s.ignored!, rescued: s.rescued!, unreachable: s.unreachable! }, code: r.status! };
  }

  async function ferryRun(e: CorpusEntry, w: string): Promise<{ tasks: TaskSeen[]; recap: Recap; exitCode: number; failures: string }> {
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(e.play, { inventory: [ferryInv], reporter: rep, extraVars: { corpus_dir: w }, stateDir: join(dir, 'state') });
    const tasks = rep.results().filter((x) => x.host === sshd.name).map((x): TaskSeen => ({ status: x.status, values: {}, result: x.result }));
    const h = r.recap[sshd.name]!;
    const failures = JSON.stringify(rep.results().filter((x) => x.status === 'failed' && !x.ignored).map((x) => `${x.task}: ${x.msg ?? ''}`));
    return { tasks, recap: { ok: h.ok, changed: h.changed, failed: h.failed, skipped: h.skipped, ignored: h.ignored, rescued: h.rescued, unreachable: h.unreachable }, exitCode: r.exitCode, failures };
  }

  for (const e of CORPUS) {
    it(`${e.entry}: ${e.ferry === 'unchanged' ? 'the same files, recap and registered values as ansible-playbook' : e.ferry === 'refused' ? `refused before any host is contacted (${e.message})` : `differs: ${e.reason}`}`, async () => {
      const aw = workDir(`${e.entry}-ansible`);
      const fw = workDir(`${e.entry}-ferry`);
      const a = ansibleRun(e, aw);
      if (e.ferry === 'refused') {
        await assert.rejects(runPlaybookFile(e.play, { inventory: [ferryInv], extraVars: { corpus_dir: fw }, stateDir: join(dir, 'state') }), (err: Error) => {
          assert.ok(err instanceof ValidationError, `not refused at load time: ${err.message}`);
          assert.match(err.message, new RegExp(e.message!));
          return true;
        });
        assert.deepEqual(readdirSync(fw), [], 'ferry wrote files although it refused');
        return;
      }
      const f = await ferryRun(e, fw);
      const checks = (): void => {
        assert.equal(f.exitCode, a.code, `ferry's exit code (ansible-playbook's ${a.code}); ferry's failures: ${f.failures}`);
        assert.deepEqual(f.tasks.map((t) => t.status), a.tasks.map((t) => t.status), 'task statuses, in order');
        // ferry registers what Ansible does, with the same values (and may say more: a no-change reason in msg)
        a.tasks.forEach((t, i) => assert.deepEqual(pick(f.tasks[i]!.result, fw, Object.keys(t.values)), t.values, `registered values of task ${i + 1}`));
        assert.deepEqual(f.recap, a.recap, 'recap');
        assert.deepEqual(tree(fw), tree(aw), 'the files left');
      };
      if (e.ferry === 'fails') assert.throws(checks, assert.AssertionError, `${e.entry} now runs as ansible-playbook does: mark it unchanged in corpus.yaml`);
      else checks();
    });
  }

  it('README.md holds the score table rendered from corpus.yaml', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.ok(readme.includes(renderScore(CORPUS)), `README.md's corpus score is not:\n${renderScore(CORPUS)}`);
    assert.ok(CORPUS.length >= 10);
    // each entry names where it comes from and under which licence
    for (const e of CORPUS) assert.match(readFileSync(join(e.dir, 'SOURCE.md'), 'utf8'), /^- Licence: \S/m, e.entry);
  });
});
