// The decide tables (pyinfra's tests/operations/*/*.json): one JSON file per case under
// test/fixtures/decide/<module>/, `{params, facts} → steps (title + exact command) | reason | refusal`,
// run by this one test. Facts are what the real tools printed: `{"file": "storage/lvs-pristine.json"}`
// stands for a captured output in test/fixtures, turned into facts by the module's own parser.
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forceOf, guardDestructive, type Diff, type TaskModule, type ToolOutput } from '../../runner/module.js';
import { aptFactsFrom, type AptOutputs } from '../../tasks/apt.js';
import type { Manager } from '../../tasks/lib/managers.js';
import { parseSystemctlShow, sysvFactsFrom } from '../../tasks/service.js';
import { parseFindTree } from '../../tasks/file.js';
import type { ChrootBindFacts } from '../../tasks/guest/chroot-binds.js';
import { filesystemFactsFrom, type FilesystemOutputs } from '../../tasks/filesystem.js';
import { groupFactsFrom } from '../../tasks/group.js';
import type { GrubGuestFacts } from '../../tasks/grub.js';
import { chooseGenerator } from '../../tasks/initramfs/images.js';
import { parseMtimes } from '../../tasks/initramfs.js';
import { parseKernelListing } from '../../tasks/guest/kernels.js';
import { detectGuestOs } from '../../tasks/guest/os-family.js';
import { builtinModules } from '../../tasks/index.js';
import { parsePathState } from '../../tasks/lib/path-state.js';
import { parseMountinfo } from '../../tasks/storage/mountinfo.js';
import { sha256Hex, validateCommand, type ContentTarget, type EditedFile } from '../../tasks/lib/file-content.js';
import type { PathState, PathType } from '../../tasks/lib/path-state.js';
import { statesWithXml } from '../../tasks/libvirt/domain-plan.js';
import { vgFactsFrom } from '../../tasks/lvm-vg.js';
import { lvmFactsFrom } from '../../tasks/lvm.js';
import { parseStat } from '../../tasks/stat.js';
import { parseBlkidExport, parseWipefs } from '../../tasks/storage/blkid.js';
import { partitionTableFrom } from '../../tasks/storage/facts.js';
import { userFactsFrom, type UserOutputs } from '../../tasks/user.js';
import { domainFactsFrom, renderDomainXml, type VirshDefineParams } from '../../tasks/virsh-define.js';
import { parseReaderOutput } from '../../tasks/xen/reader.js';
import { FIXTURE_TOKEN } from '../helpers/fixture-token.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const tables = `${fixtures}decide/`;

/** One case: the params a task gives, the facts read found, and exactly one expected outcome. */
interface Case {
  case: string;
  params: Record<string, unknown>;
  facts?: unknown;
  steps?: { title: string; cmd?: string; destructive?: boolean; stdin?: string; cwd?: string; host?: string; onFailure?: Record<string, unknown> }[];
  reason?: string;
  refusal?: string;
  /** The result data a no-change verdict carries (checked when given). */
  data?: Record<string, unknown>;
  /** A no-change verdict the engine reports as a skipped task (checked always: absent means not skipped). */
  skipped?: boolean;
  /** What the verdict says check mode left out (checked when given; otherwise it must leave nothing out). */
  partial?: string;
  /** What --diff shows (checked when given). */
  diff?: Diff[];
}

/** Replaces each `{"file": PATH}` with that captured output's text. */
function resolveFiles(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolveFiles);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.file === 'string') return readFileSync(`${fixtures}${o.file}`, 'utf8');
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveFiles(x)]));
  }
  return v;
}

const output = (o: Partial<ToolOutput> | undefined): ToolOutput => ({ exitCode: 0, stdout: '', stderr: '', ...o });

/** Each given fact as a tool output (exit 0 and empty streams unless told). */
const toolOutputs = (f: Record<string, unknown>): Record<string, ToolOutput> => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, output(v as Partial<ToolOutput>)]));

/** How a table's facts (tool outputs) become the facts decide takes, per module; the rest take them as they are. */
const factsFrom: Record<string, (facts: Record<string, unknown>, params: Record<string, unknown>) => unknown> = {
  // stat + date (the cache), dpkg-deb --field, dpkg-query -W, apt-cache policy and apt-get --simulate as printed.
  apt: (f, p) => aptFactsFrom(p as Parameters<typeof aptFactsFrom>[0], toolOutputs(f) as unknown as AptOutputs),
  // The manager found, and (apt) apt's outputs as for the apt table.
  package: ({ manager, apt }, { use: _use, ...p }) => ({
    manager,
    ...(apt ? { apt: aptFactsFrom(p as Parameters<typeof aptFactsFrom>[0], toolOutputs(apt as Record<string, unknown>) as unknown as AptOutputs) } : {}),
  }),
  // The manager found; the init-script probe and `service NAME status` as printed, or `systemctl show`.
  service: (f) => {
    const manager = f.manager as Manager;
    if (f.show !== undefined) return { manager, unit: parseSystemctlShow(output(f.show as Partial<ToolOutput>)) };
    if (f.probe === undefined) return { manager };
    return sysvFactsFrom(manager, output(f.probe as Partial<ToolOutput>), f.status === undefined ? undefined : output(f.status as Partial<ToolOutput>));
  },
  // `systemctl show` as printed (absent: no name, nothing read).
  systemd: (f) => (f.show === undefined ? {} : { unit: parseSystemctlShow(output(f.show as Partial<ToolOutput>)) }),
  // What the path probe and find -printf printed; srcExists is test -e's answer.
  file: (f) => ({
    path: parsePathState(String(f.probe)),
    ...(f.find !== undefined ? { tree: parseFindTree(String(f.find)) } : {}),
    ...(f.srcExists !== undefined ? { srcExists: f.srcExists } : {}),
  }),
  // /proc/self/mountinfo as printed; the host defaults to h1.
  mount: ({ mountinfo, ...f }) => ({ host: 'h1', ...f, mounts: parseMountinfo(String(mountinfo)) }),
  // Each device with what blkid -p -o export printed on it; the host defaults to h1.
  fstab: (f) => ({
    host: 'h1',
    ...f,
    ...(f.devices !== undefined ? { devices: (f.devices as { device: string; blkid: string }[]).map((d) => ({ device: d.device, ids: parseBlkidExport(d.blkid) })) } : {}),
  }),
  // What the one stat command printed (NUL-separated fields).
  stat: (f, p) => ({ stat: parseStat(String(f.stdout), String(p.path), p.checksum_algorithm as string) }),
  // The file's text as read; its state (size, sha256) follows from it, the parent directory exists unless told.
  blockinfile: (f) => editedFile(f),
  lineinfile: (f) => editedFile(f),
  replace: (f) => editedFile(f),
  // The controller file (its text), and dest as the path probe printed it.
  copy: ({ source, ...f }, p) => ({
    ...(source ? { source: { path: (source as { path: string }).path, data: Buffer.from((source as { text: string }).text) } } : {}),
    target: contentTarget(f, String(p.dest)),
  }),
  // The template file and the text it rendered to, and dest as the path probe printed it.
  template: ({ rendered, ...f }, p) => ({ rendered, target: contentTarget(f, String(p.dest)) }),
  // command -v curl's answer (true unless told), the path probe of dest as printed (absent unless told), dest's digest as given.
  get_url: ({ curl, probe, destChecksum }, p) => ({
    curl: curl ?? true,
    target: contentTarget(probe === undefined ? {} : { probe }, String(p.dest)),
    ...(destChecksum !== undefined ? { destChecksum } : {}),
  }),
  // getent group NAME (and GID) as printed; whether lgroupadd was found as given.
  group: (f, p) =>
    groupFactsFrom(p as Parameters<typeof groupFactsFrom>[0], output(f.byName as Partial<ToolOutput>), f.byGid === undefined ? undefined : output(f.byGid as Partial<ToolOutput>), f.localTools as boolean | undefined),
  // /proc/self/mountinfo and lsblk as printed, the rest of the host's answers as given (no loop offsets unless told);
  // the guest's os-release as its text, the files it holds as text.
  grub: ({ mountinfo, lsblk, loopOffsets, guest, ...f }) => ({
    host: 'h1',
    loopOffsets: loopOffsets ?? {},
    ...f,
    lsblk: output(lsblk as Partial<ToolOutput>),
    mounts: parseMountinfo(String(mountinfo)),
    ...(guest ? { guest: guestFacts(guest as Record<string, unknown>) } : {}),
  }),
  // blkid -p, mkfs.xfs -N, e2fsck -n / xfs_repair -n as printed (exit 0 unless told), dumpe2fs -h and xfs_db/xfs_info
  // stdout; the host h1 and a block device unless told.
  filesystem: (f, p) =>
    filesystemFactsFrom(String(p.dev), {
      host: 'h1',
      kind: 'block',
      ...f,
      ...Object.fromEntries(['blkid', 'mkfsDryRun', 'check'].filter((k) => f[k] !== undefined).map((k) => [k, output(f[k] as Partial<ToolOutput>)])),
    } as FilesystemOutputs),
  lvm: (f, p) => {
    const lvs = f.lvs as Partial<ToolOutput> | undefined;
    return lvmFactsFrom(String(p.vg), output(f.vgs as Partial<ToolOutput>), lvs === undefined ? undefined : output(lvs).stdout);
  },
  lvm_vg: (f, p) =>
    vgFactsFrom(p as Parameters<typeof vgFactsFrom>[0], output(f.pvs as Partial<ToolOutput>).stdout, output(f.vgs as Partial<ToolOutput>), f.realPaths as Record<string, string>),
  // getent passwd/shadow/group, id -Gn and getent passwd UID as printed; the directory test and libuser's presence as given.
  user: (f, p) => {
    const out = (k: string) => (f[k] === undefined ? {} : { [k]: output(f[k] as Partial<ToolOutput>) });
    const given = (k: 'homeParentExists' | 'localTools') => (f[k] === undefined ? {} : { [k]: f[k] as boolean });
    const o = { passwd: output(f.passwd as Partial<ToolOutput>), ...out('shadow'), ...out('idGroups'), ...out('groups'), ...out('byUid'), ...given('homeParentExists'), ...given('localTools') } as UserOutputs;
    return userFactsFrom(p as Parameters<typeof userFactsFrom>[0], o);
  },
  // tar/unzip outputs as printed; the controller archive's bytes as text.
  unarchive: (f) => ({
    ...f,
    ...Object.fromEntries(['tool', 'list', 'diff'].filter((k) => f[k] !== undefined).map((k) => [k, output(f[k] as Partial<ToolOutput>)])),
    ...(typeof f.archive === 'string' ? { archive: Buffer.from(f.archive) } : {}),
  }),
  // What `cd -P ROOT && pwd -P` printed (the root itself unless told), /proc/self/mountinfo as printed, and the bind
  // targets' check as printed (absent unless told); the host h1.
  chroot_mounts: (f, p) => chrootBindFacts(f, String(p.root)),
  // Whether each creates/removes path exists in the guest (test -e), and (mounts) the chroot binds as for chroot_mounts.
  chroot_exec: ({ exists, binds }, p) => ({
    guard: { exists: (exists as Record<string, boolean> | undefined) ?? {} },
    ...(binds !== undefined ? { binds: chrootBindFacts(binds as Record<string, unknown>, String(p.root)) } : {}),
  }),
  // The guest's os-release as text and the generator probe as printed (what chooseGenerator picks from), conf.d as listed,
  // the config files as text (a missing file has no entry), /boot as listed, KERNEL_LISTING as printed, each image's listing
  // as printed (exit 0 unless told); the chroot binds as for chroot_mounts (all missing, nothing to refuse, unless told).
  initramfs: ({ osRelease, probe, kernels, listings, binds, ...f }, p) => {
    const family = detectGuestOs(String(osRelease));
    const { generator, why } = chooseGenerator(family.initramfs, String(probe ?? ''));
    return {
      os: { ...family, initramfs: generator },
      generatorWhy: why,
      confD: f.confD ?? [],
      texts: f.texts ?? {},
      boot: f.boot ?? [],
      kernels: parseKernelListing(String(kernels ?? '')),
      listings: toolOutputs((listings as Record<string, unknown> | undefined) ?? {}),
      binds: chrootBindFacts((binds as Record<string, unknown> | undefined) ?? { targets: {} }, String(p.root)),
      // the root's type as findmnt printed it (none: not a mount point)
      ...(f.rootFs !== undefined ? { rootFs: String(f.rootFs) } : {}),
      // stat -c '%Y %n' as printed (none: no times known)
      mtimes: parseMtimes(String(f.stat ?? '')),
    };
  },
  // The guest's os-release as text and KERNEL_LISTING as printed; the chroot binds as for chroot_mounts (read only when no
  // kernel is good; all missing, nothing to refuse, unless told).
  kernel: ({ osRelease, kernels, binds }, p) => ({
    os: detectGuestOs(String(osRelease)),
    kernels: parseKernelListing(String(kernels ?? '')),
    binds: chrootBindFacts((binds as Record<string, unknown> | undefined) ?? { targets: {} }, String(p.root)),
  }),
  // The places looked in and the files read (each its path and mapping) as given; the task's variables none unless told.
  include_vars: (f) => ({ vars: {}, ...f }),
  // The task's host h1, the ends on it unless told; the sizes, what dest is and whether the range matches as given.
  blockcopy: (f) => ({ host: 'h1', srcHost: f.srcHost ?? 'h1', destHost: f.destHost ?? 'h1', ...f }),
  // The reader's stdout as printed (framed with the fixtures' token); the host h1.
  xen_import: (f) => ({ host: 'h1', records: parseReaderOutput(String(f.stdout), FIXTURE_TOKEN) }),
  // The hosts of the two ends (the task's host h1 unless told) and the dry run as rsync printed it (exit 0 unless told).
  rsync: ({ srcHost, destHost, dry }) => ({
    srcHost: srcHost ?? 'h1',
    destHost: destHost ?? srcHost ?? 'h1',
    dry: { exitCode: 0, output: '', failure: '', ...(dry as object) },
  }),
  // sfdisk --json and wipefs as printed; the kind, sizes and partition nodes as given.
  partition: (f) => ({
    ...f,
    ...(f.sfdisk !== undefined ? { table: partitionTableFrom(output(f.sfdisk as Partial<ToolOutput>)) } : {}),
    ...(f.wipefs !== undefined ? { signatures: parseWipefs(output(f.wipefs as Partial<ToolOutput>).stdout) } : {}),
  }),
  // As read does: dominfo, then (states that manage XML) the XML rendered here, what virt-xml-validate and dumpxml printed.
  virsh_define: (f, params) => {
    const p = params as VirshDefineParams;
    const domain = domainFactsFrom(p, output(f.dominfo as Partial<ToolOutput>));
    if (!statesWithXml(p.state)) return { domain };
    const xml = renderDomainXml(p, fixtures, domain.exists ? domain.uuid : undefined);
    return { domain, xml, validation: output(f.validation as Partial<ToolOutput>), ...(f.dumpxml !== undefined ? { dumpxml: f.dumpxml } : {}) };
  },
};

/** A chroot's bind facts as readChrootBinds reads them (see the chroot_mounts table). */
function chrootBindFacts(f: Record<string, unknown>, root: string): ChrootBindFacts {
  return {
    host: 'h1',
    realRoot: output((f.realRoot as Partial<ToolOutput> | undefined) ?? { stdout: `${root}\n` }),
    mounts: parseMountinfo(String(f.mountinfo ?? '')),
    ...(f.targets !== undefined ? { targets: output(f.targets as Partial<ToolOutput>) } : {}),
  };
}

/** A grub table's guest: os-release as text becomes the detected OS. */
function guestFacts({ osRelease, ...g }: Record<string, unknown>): GrubGuestFacts {
  return { ...g, os: detectGuestOs(String(osRelease)) } as GrubGuestFacts;
}

/** A regular file's attributes as probePath reads them: the text's size and sha256, mode 0644 and root's unless given. */
function fileState(text: string | null, f: Record<string, unknown>): PathState {
  if (text === null) return { exists: false };
  const data = Buffer.from(text, 'utf8');
  return { exists: true, type: 'file', mode: 0o644, owner: 'root', group: 'root', uid: 0, gid: 0, size: data.length, sha256: sha256Hex(data), ...(f.state as object) };
}

/**
 * An editing module's file as readEditedFile reads it: the text (null: missing, or not a regular file when `type`
 * says what it is), its state following from the text; with `diff` (--diff asked) the text is the diff's before.
 */
function editedFile(f: Record<string, unknown>): EditedFile {
  const text = (f.text as string | null | undefined) ?? null;
  const path = String(f.path);
  const state: PathState = f.type !== undefined ? parsePathState(String(f.probe)) : fileState(text, f);
  return {
    path,
    text,
    ...(f.type !== undefined ? { type: f.type as PathType } : {}),
    target: { dest: path, state, target: path, parent: (f.parent as ContentTarget['parent']) ?? 'directory', asRoot: true, ...(f.diff ? { before: Buffer.from(text ?? '') } : {}) },
  };
}

/**
 * What readContentTarget found at dest: `probe` as the path probe printed it (absent unless given), the file
 * written (`dest`, default the param), where the upload goes (`target`, default dest), the parent (a directory
 * unless told), a write as root unless told, and `before` (--diff) as text.
 */
function contentTarget(f: Record<string, unknown>, dest: string): ContentTarget {
  const d = (f.dest as string | undefined) ?? dest;
  return {
    dest: d,
    state: f.probe === undefined ? { exists: false } : parsePathState(String(f.probe)),
    target: (f.target as string | undefined) ?? d,
    parent: (f.parent as ContentTarget['parent']) ?? 'directory',
    asRoot: (f.asRoot as boolean | undefined) ?? true,
    ...(f.before !== undefined ? { before: Buffer.from(String(f.before)) } : {}),
  };
}

const modules = builtinModules();

describe('decide tables (params + facts → steps | reason | refusal)', () => {
  it('every built-in module has a table', () => {
    const have = new Set(readdirSync(tables));
    assert.deepEqual([...modules.names()].filter((n) => !have.has(n)), []);
  });
  for (const dir of readdirSync(tables).sort()) {
    describe(dir, () => {
      const mod = modules.get(dir) as TaskModule<Record<string, unknown>, unknown> | undefined;
      it('is a module with a pure decide', () => assert.ok(mod?.decide, `${dir} has no decide`));
      for (const file of readdirSync(`${tables}${dir}`).filter((f) => f.endsWith('.json')).sort()) {
        const c = JSON.parse(readFileSync(`${tables}${dir}/${file}`, 'utf8')) as Case;
        it(`${c.case} (${file})`, () => {
          assert.equal([c.steps, c.reason, c.refusal].filter((x) => x !== undefined).length, 1, 'a case expects exactly one of steps, reason and refusal');
          const params = mod!.params.parse(c.params);
          const raw = resolveFiles(c.facts ?? {});
          const facts = factsFrom[dir] ? factsFrom[dir](raw as Record<string, unknown>, params) : raw;
          // The engine's own order: decide, then the force guard (runner/module.ts planTask).
          const v = guardDestructive(mod!.decide!(params, facts), forceOf(params));
          assert.equal('partial' in v ? v.partial : undefined, c.partial, 'what check mode leaves out');
          if (c.diff !== undefined) assert.deepEqual('diff' in v ? v.diff : undefined, c.diff, 'what --diff shows');
          if (c.refusal !== undefined) {
            assert.deepEqual(v, { refused: c.refusal, ...('data' in v && v.data ? { data: v.data } : {}) });
          } else if (c.reason !== undefined) {
            assert.ok('changed' in v && !v.changed, JSON.stringify(v));
            assert.equal(v.reason, c.reason);
            assert.equal(v.skipped ?? false, c.skipped ?? false, 'reported as skipped');
            if (c.data !== undefined) assert.deepEqual(v.data, c.data);
          } else {
            assert.ok('changed' in v && v.changed, JSON.stringify(v));
            const got = v.steps.map((s) => ({
              title: s.title,
              ...(s.cmd ? { cmd: s.cmd.display } : {}),
              ...(s.destructive ? { destructive: true } : {}),
              ...(s.stdin !== undefined ? { stdin: s.stdin } : {}),
              ...(s.cwd !== undefined ? { cwd: s.cwd } : {}),
              ...(s.host !== undefined ? { host: s.host } : {}),
              ...(s.onFailure !== undefined ? { onFailure: s.onFailure } : {}),
            }));
            assert.deepEqual(got, c.steps);
          }
        });
      }
    });
  }
});

describe('validate: the command run on the temporary copy ("$t")', () => {
  // %s anywhere in a word is the copy, %% a %; the words are split as Ansible splits them (no shell) and each is quoted
  for (const [validate, cmd] of [
    ['visudo -cf %s', 'exec visudo -cf "$t"'],
    ['check --file=%s', 'exec check --file="$t"'],
    ["sh -c 'test \"$(stat -c %%a \"$0\")\" = 440' %s", `exec sh -c 'test "$(stat -c %a "$0")" = 440' "$t"`],
    ['cmp %s%s.bak', 'exec cmp "$t""$t".bak'],
    ["grep -q 'a b;$(id)' %s", `exec grep -q 'a b;$(id)' "$t"`],
  ] as const) {
    it(validate, () => assert.equal(validateCommand(validate).display, cmd));
  }
});
