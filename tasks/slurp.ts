// slurp: read a file on the host into the task's result, base64-encoded (Ansible's slurp), so a
// playbook can use a remote file's content (`{{ r.content | b64decode }}`). It only reads.
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Verdict } from '../runner/module.js';
import { probeFollowingLink } from './lib/path-state.js';
import { pathField } from './lib/schema.js';

const params = z
  .strictObject({
    src: pathField('The file on the host to read (alias path)').optional(),
    path: pathField('Alias of src').optional(),
  })
  .superRefine((p, ctx) => {
    if (p.src === undefined && p.path === undefined) ctx.addIssue({ code: 'custom', path: ['src'], message: 'src is required (the file to read)' });
    if (p.src !== undefined && p.path !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'give src or path (its alias), not both' });
  })
  .transform((p) => ({ src: (p.src ?? p.path)! }));

type Params = z.output<typeof params>;

/** What read found at src: a file's content (base64), or why there is none. */
export type SlurpFacts = { found: 'file'; content: string; size: number } | { found: 'missing' | 'directory' } | { found: 'other'; type: string };

/** Decides slurp (pure): the content in the result with Ansible's keys, or Ansible's failure message. */
export function decideSlurp(p: Params, f: SlurpFacts): Verdict {
  switch (f.found) {
    case 'missing':
      return { refused: `file not found: ${p.src}` };
    case 'directory':
      return { refused: `source is a directory and must be a file: ${p.src}` };
    case 'other':
      return { refused: `unable to slurp file: ${p.src} is a ${f.type}, not a regular file` };
    case 'file':
      // The reason never holds the content: a no_log task's result is censored, its reason is what shows.
      return { changed: false, reason: `read ${f.size} bytes from ${p.src}`, data: { content: f.content, encoding: 'base64', source: p.src } };
  }
}

export const slurpModule = defineModule({
  name: 'slurp',
  params,
  freeForm: 'src',
  doc: {
    summary: "Read a file on the host into the result, base64-encoded (use it with '| b64decode')",
    description:
      'A symlink is followed. The whole file is held in memory and in the registered value: it is meant for ' +
      'small files (keys, configuration). With no_log: true the content is masked in every output.',
    checkMode: 'full',
    checkModeNote: 'reads the file in check mode too (nothing is changed)',
    result: { content: 'the file content, base64-encoded', encoding: "always 'base64'", source: 'the path that was read' },
    example: ['- slurp: { src: /etc/machine-id }', '  register: mid', '', '- debug: { msg: "{{ mid.content | b64decode }}" }'].join('\n'),
  },
  async read(ctx, p): Promise<SlurpFacts> {
    // a link is followed as open() would: what it names decides
    const { state: st } = await probeFollowingLink(ctx, p.src);
    if (!st.exists) return { found: 'missing' };
    if (st.type === 'directory') return { found: 'directory' };
    if (st.type !== 'file') return { found: 'other', type: st.type };
    const data = await ctx.transport.get(p.src, { become: ctx.become });
    if (data === null) throw new TaskFailedError(`file is not readable: ${p.src}`, { source: p.src });
    return { found: 'file', content: data.toString('base64'), size: data.length };
  },
  decide: decideSlurp,
});
