// template: render a handlebars file on the controller with the host's variables, then copy it.
import { basename } from 'node:path';
import { z } from 'zod';
import { defineModule } from '../runner/module.js';
import { renderTemplateFile } from '../runner/template.js';
import { readControllerFile } from './copy.js';
import { planContent } from './lib/file-content.js';
import { groupField, modeField, ownerField, pathField } from './lib/schema.js';

const params = z.strictObject({
  src: z.string().min(1).describe('Handlebars template on the controller, relative to the playbook directory'),
  dest: pathField('Remote path; a trailing / or an existing directory means dest/basename(src) without .hbs'),
  mode: modeField,
  owner: ownerField,
  group: groupField,
  backup: z.boolean().default(false).describe('Keep the replaced file as dest.<date>@<time>~'),
  force: z.boolean().default(true).describe('false: leave an existing dest alone even when its content differs'),
});

export const templateModule = defineModule({
  name: 'template',
  params,
  doc: {
    summary: 'Render a handlebars template with the host variables and copy the result (like copy)',
    description:
      'Rendering is strict: an undefined variable fails the task naming the variable and the template file:line; ' +
      'nothing is HTML-escaped. The rendered text is compared by sha256 and uploaded atomically, exactly as copy does.',
    checkMode: 'full',
    result: { dest: 'the final path written', checksum: 'sha256 of the rendered text', size: 'bytes', backup_file: 'the backup made, if any' },
    example: ['- template:', '    src: templates/fstab.hbs', '    dest: /etc/fstab', "    mode: '0644'", '    backup: true'].join('\n'),
  },
  async plan(ctx, p) {
    // readControllerFile gives the clear "not found (looked for …)" error before handlebars sees the path.
    const local = await readControllerFile(ctx.baseDir, p.src);
    const text = renderTemplateFile(local.path, ctx.vars);
    return planContent(ctx, {
      dest: p.dest,
      data: Buffer.from(text, 'utf8'),
      fileName: basename(local.path).replace(/\.hbs$/, ''),
      mode: p.mode,
      owner: p.owner,
      group: p.group,
      backup: p.backup,
      force: p.force,
    });
  },
});
