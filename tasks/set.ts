// `set`: compute values for later tasks (Ansible's set_fact). The engine stores them with the
// host's registered values, above task vars and below extra vars.
import { z } from 'zod';
import { SET_VARS_KEY } from '../runner/task-outcome.js';
import { defineModule } from '../runner/module.js';

export const setModule = defineModule({
  name: 'set',
  params: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _'), z.unknown())
    // Ansible's set_fact keyword, not a variable: ferry keeps no fact cache between runs.
    .transform(({ cacheable: _, ...vars }) => vars)
    .describe('each key is a variable to set, to the (templated) value; cacheable (set_fact) is accepted and ignored'),
  doc: {
    summary: 'Set variables for the following tasks on this host (Ansible\'s set_fact, also accepted by that name)',
    checkMode: 'full',
    checkModeNote: 'values are computed in check mode too, so later conditions still evaluate',
    result: { [SET_VARS_KEY]: 'the variables set' },
    example: '- set:\n    new_lv: "{{ lv }}"\n    old_lv: "{{ lv }}-old"',
  },
  read: async () => ({}),
  decide(p) {
    return { changed: false, reason: `set ${Object.keys(p).join(', ')}`, data: { [SET_VARS_KEY]: p } };
  },
});
