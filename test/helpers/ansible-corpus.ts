// The real-playbook corpus (test/fixtures/ansible-corpus): its entries and what ferry does with each,
// read from corpus.yaml, and the score table README.md shows, rendered from the same file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The corpus folder inside the repository. */
export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/ansible-corpus', import.meta.url));

/** One corpus entry: an upstream task file, the wrapper play that runs it, and ferry's outcome. */
export interface CorpusEntry {
  entry: string;
  ferry: 'unchanged' | 'refused' | 'fails';
  /** refused: a regexp of ferry's message. */
  message?: string;
  /** fails: how ferry's run differs from ansible-playbook's. */
  reason?: string;
  /** `fails` where the upstream file fails under Debian's ansible-core itself (written for a later one). */
  ansible?: 'fails';
  /** Why ansible-playbook fails on it. */
  ansibleReason?: string;
  dir: string;
  play: string;
}

function load(): CorpusEntry[] {
  const raw = parse(readFileSync(join(CORPUS_DIR, 'corpus.yaml'), 'utf8')) as Omit<CorpusEntry, 'dir' | 'play'>[];
  return raw.map((e) => ({ ...e, dir: join(CORPUS_DIR, e.entry), play: join(CORPUS_DIR, e.entry, 'play.yml') }));
}

/** The entries, in corpus.yaml's order. */
export const CORPUS: CorpusEntry[] = load();

const OUTCOME: Record<CorpusEntry['ferry'], string> = {
  unchanged: 'runs unchanged, same results',
  refused: 'refused with a clear message',
  fails: 'runs, results differ',
};

/** The score table README.md shows: the totals, then one row per entry. */
export function renderScore(entries: CorpusEntry[]): string {
  const count = (k: CorpusEntry['ferry']) => entries.filter((e) => e.ferry === k).length;
  const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');
  const ansibleFails = entries.filter((e) => e.ansible === 'fails').length;
  const lines = [
    `ferry runs **${count('unchanged')} of ${entries.length}** unchanged with the same results as ansible-playbook; ` +
      `${count('refused')} refused with a clear message before any host is contacted; ${count('fails')} run with different results. ` +
      `(ansible-playbook itself fails on ${ansibleFails} of them, written for a later ansible-core; "the same results" then includes the same failure.)`,
    '',
    '| entry | ansible-playbook | ferry | why |',
    '| --- | --- | --- | --- |',
    ...entries.map((e) => `| ${e.entry} | ${e.ansible === 'fails' ? `fails: ${cell(e.ansibleReason)}` : 'completes'} | ${OUTCOME[e.ferry]} | ${cell(e.message ?? e.reason)} |`),
  ];
  return lines.join('\n') + '\n';
}
