// ping: proves the host is reachable and runs commands (and that become works, when asked).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule } from '../runner/module.js';

export const pingModule = defineModule({
  name: 'ping',
  params: z.strictObject({}),
  doc: {
    summary: 'Check that the host answers: runs `true` and returns pong',
    checkMode: 'full',
    result: { ping: "'pong'" },
    example: ['- ping:', '', '# ad hoc: ferry -i inventory.yml all -m ping'].join('\n'),
  },
  // The read is the point: a host that runs `true` (with become, when asked) answered.
  async read(ctx) {
    await ctx.runOk(sh`true`);
    return { answered: true };
  },
  decide: () => ({ changed: false, reason: 'pong', data: { ping: 'pong' } }),
});
