// xen_import's host-side read: one read-only command that prints every matching xl.cfg (and every
// libvirt domain's XML), framed as every batched read is, and its records turned into sources (pure).
import { TaskFailedError, type Problem } from '../../runner/errors.js';
import { BATCH_RECORD_FUNCTION, parseBatch } from '../../runner/batch-read.js';
import { sh, type Command } from '../../runner/command.js';
import type { XenSource } from './import-data.js';

// The host-side reader, framed as every batched read is (runner/batch-read.ts). Patterns arrive as
// positional parameters: with IFS empty an unquoted $pat is glob-expanded but never split or
// re-parsed, so `$(…)` or a space in a name stays a name. A record's name is its kind and its name.
const READER = `ferry_tok=$1; uri=$2; shift 2
IFS=
LC_ALL=C; export LC_ALL
set +f
${BATCH_RECORD_FUNCTION}
for pat in "$@"; do
  for f in $pat; do
    if [ -d "$f" ]; then ferry_rec "dir $f" true
    elif [ ! -e "$f" ]; then ferry_rec "missing $f" true
    else ferry_rec "file $f" cat -- "$f"
    fi
  done
done
[ -n "$uri" ] || exit 0
if ! command -v virsh >/dev/null 2>&1; then ferry_rec "novirsh -" true; exit 0; fi
names=$(virsh -c "$uri" list --all --name 2>&1 </dev/null); rc=$?
# the list is read once (its names drive the loop below) and then framed as its own record
ferry_rec "list -" eval 'printf %s "$names"; exit $rc'
[ "$rc" = 0 ] || exit 0
printf '%s\\n' "$names" | while read -r d; do
  [ -z "$d" ] || ferry_rec "domain $d" virsh -c "$uri" dumpxml --domain "$d"
done
`;

/** The one read-only command that prints every matching file (and, given a URI, every libvirt domain's XML). */
export function xenReadCommand(paths: string[], libvirtUri: string | undefined, token: string): Command {
  return sh`sh -c ${READER} ferry-xen-import ${token} ${libvirtUri ?? ''} ${paths}`;
}

const KINDS = ['file', 'dir', 'missing', 'novirsh', 'list', 'domain'] as const;

/** One record the reader printed. */
export interface ReaderRecord {
  kind: (typeof KINDS)[number];
  name: string;
  body: string;
  exitCode: number;
  stderr: string;
}

/** Splits the reader's output into its records; throws TaskFailedError when the framing is broken (output cut short). */
export function parseReaderOutput(stdout: string, token: string): ReaderRecord[] {
  const { records, broken } = parseBatch(stdout, token);
  if (broken) throw new TaskFailedError(`xen_import: the reader's framing broke: ${broken}`);
  return records.map(({ name, ...r }) => {
    const space = name.indexOf(' ');
    const kind = name.slice(0, space) as ReaderRecord['kind'];
    if (space < 0 || !KINDS.includes(kind)) throw new TaskFailedError(`xen_import: a record of an unknown kind: ${JSON.stringify(name)}`);
    return { kind, name: name.slice(space + 1), ...r };
  });
}

const GLOB_CHARS = /[*?[]/;

/** Turns the reader's records into sources, read problems and warnings (pure: decide's half). */
export function sourcesFromRecords(records: ReaderRecord[], patterns: string[], libvirtUri: string): { sources: XenSource[]; problems: Problem[]; warnings: string[] } {
  const sources: XenSource[] = [];
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const literal = new Set(patterns.filter((p) => !GLOB_CHARS.test(p)));
  for (const r of records) {
    if (r.kind === 'file') {
      if (r.exitCode === 0) sources.push({ path: r.name, text: r.body, origin: 'xl' });
      else problems.push({ loc: { file: r.name, line: 1 }, message: `cannot read: ${r.stderr.trim() || `cat exit ${r.exitCode}`}`, hint: 'become: true reads files only root may read' });
    } else if (r.kind === 'missing' || r.kind === 'dir') {
      // An unmatched glob comes back as itself: not an error. A named file that is not there is.
      if (literal.has(r.name)) {
        problems.push({ loc: { file: r.name, line: 1 }, message: r.kind === 'dir' ? 'is a directory, not an xl.cfg' : 'no such file', hint: r.kind === 'dir' ? `use ${r.name.replace(/\/$/, '')}/*.cfg` : 'check paths' });
      }
    } else if (r.kind === 'novirsh') {
      warnings.push('libvirt: true but virsh is not installed: only xl.cfg files were read');
    } else if (r.kind === 'list') {
      if (r.exitCode !== 0) warnings.push(`virsh -c ${libvirtUri} list failed (exit ${r.exitCode}): ${r.body.trim()}`);
    } else if (r.exitCode === 0) {
      sources.push({ path: `virsh -c ${libvirtUri} dumpxml ${r.name}`, text: r.body, origin: 'libvirt', domain: r.name });
    } else {
      problems.push({ loc: { file: `virsh -c ${libvirtUri} dumpxml ${r.name}`, line: 1 }, message: `cannot read the domain: ${r.stderr.trim() || `exit ${r.exitCode}`}` });
    }
  }
  return { sources, problems, warnings };
}

/** The patterns of a paths parameter as a list. */
export function pathList(paths: string | string[]): string[] {
  return typeof paths === 'string' ? [paths] : paths;
}
