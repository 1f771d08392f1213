// template: render a Jinja2 file (handlebars for a .hbs file) on the controller with the host's
// variables, then copy it.
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Verdict } from '../runner/module.js';
import { renderTemplateFile, renderedName, templateFileVars } from '../runner/template.js';
import { copyRequest, readControllerFile } from './copy.js';
import { contentResult, decideContent, readContentTarget, type ContentTarget } from './lib/file-content.js';
import { groupField, modeField, ownerField, pathField, validateField } from './lib/schema.js';

const params = z.strictObject({
  src: z
    .string()
    .min(1)
    .describe("Template on the controller: looked for in the role's templates/ (in a role), then templates/ beside the playbook, then relative to the playbook's directory; Jinja2, or handlebars when it ends in .hbs"),
  dest: pathField('Remote path; a trailing / or an existing directory means dest/basename(src) without .hbs'),
  mode: modeField,
  owner: ownerField,
  group: groupField,
  backup: z.boolean().default(false).describe('Keep the replaced file as dest.<date>@<time>~'),
  force: z.boolean().default(true).describe('false: leave an existing dest alone even when its content differs'),
  trim_blocks: z.boolean().default(true).describe('Jinja2: remove the first newline after a block tag ({% … %}), as Ansible does'),
  lstrip_blocks: z.boolean().default(false).describe('Jinja2: strip spaces and tabs before a block tag at the start of a line'),
  validate: validateField,
});
type Params = z.output<typeof params>;

/** What template's read found: the template file and the text it rendered to with the host's variables, and what is at dest. */
export interface TemplateFacts {
  rendered: { path: string; text: string };
  target: ContentTarget;
}

/** Decides template (pure): the rendered text at dest, exactly as copy decides its bytes. */
export function decideTemplate(p: Params, f: TemplateFacts): Verdict {
  return decideContent(f.target, copyRequest(p, Buffer.from(f.rendered.text, 'utf8'), renderedName(f.rendered.path)));
}

/** Where Ansible's template module looks for src: the role's templates/ and folder, then templates/ beside the playbook, then the playbook's directory. */
async function findTemplate(baseDir: string, src: string, roleDir?: string): Promise<string> {
  const dirs = roleDir ? [roleDir, baseDir] : [baseDir];
  const candidates = isAbsolute(src) ? [src] : dirs.flatMap((d) => [join(d, 'templates', src), join(d, src)]);
  for (const c of candidates) if (await stat(c).catch(() => null)) return c;
  throw new TaskFailedError(`src ${src} not found (looked for ${candidates.join(', ')})`, { src: candidates[candidates.length - 1] });
}

export const templateModule = defineModule({
  name: 'template',
  params,
  doc: {
    summary: 'Render a Jinja2 template (handlebars for .hbs) with the host variables and copy the result (like copy)',
    description:
      'Jinja2 as Ansible renders it (trim_blocks on, lstrip_blocks off, trailing newlines kept; ansible_managed, ' +
      'template_path, template_host, template_uid, template_run_date and template_destpath are set; ansible_managed says ' +
      '"Managed by ferry" unless the variable is set). Rendering is strict: an undefined variable fails the task naming ' +
      'the variable and the template file:line; nothing is HTML-escaped. The rendered text is compared by sha256 and ' +
      'uploaded atomically, exactly as copy does (validate included: the rendered text is checked on the host first).',
    checkMode: 'full',
    result: { dest: 'the final path written', checksum: 'sha1 of the rendered text (as Ansible)', md5sum: 'md5 of the rendered text', state: "'file'", size: 'bytes', backup_file: 'the backup made, if any', exit_status: "a failing validate: the command's exit status (with its stdout and stderr)" },
    example: ['- template:', '    src: fstab.j2', '    dest: /etc/fstab', "    mode: '0644'", '    backup: true', '    validate: findmnt --verify --tab-file %s'].join('\n'),
  },
  async read(ctx, p): Promise<TemplateFacts> {
    // Found first: a clear "not found (looked for …)" error before the template engine sees the path.
    const local = await readControllerFile(ctx.baseDir, await findTemplate(ctx.baseDir, p.src, ctx.roleDir));
    const vars = { ...ctx.vars, ...templateFileVars(local.path, p.src, p.dest, ctx.vars) };
    const text = renderTemplateFile(local.path, vars, { trimBlocks: p.trim_blocks, lstripBlocks: p.lstrip_blocks });
    const target = await readContentTarget(ctx, { dest: p.dest, fileName: renderedName(local.path), diffData: Buffer.from(text, 'utf8') });
    return { rendered: { path: local.path, text }, target };
  },
  decide: decideTemplate,
  result: contentResult,
});
