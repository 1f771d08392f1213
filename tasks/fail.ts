// `fail` and `assert`: stop a host with a message, or unless conditions hold.
import { z } from 'zod';
import { parseExpr } from '../runner/expr/index.js';
import { defineModule } from '../runner/module.js';
import { evaluateCondition } from '../runner/template.js';

export const failModule = defineModule({
  name: 'fail',
  params: z.strictObject({ msg: z.string().default('Failed as requested from task').describe('why the host stops') }),
  freeForm: 'msg',
  doc: { summary: 'Fail the host with a message (use with when:)', checkMode: 'full', example: '- fail: { msg: "no LV {{ lv }}" }\n  when: lv is not defined' },
  read: async () => ({}),
  decide: (p) => ({ refused: p.msg }),
});

export const assertModule = defineModule({
  name: 'assert',
  params: z.strictObject({
    that: z.union([z.string(), z.array(z.string())]).describe('conditions that must all hold'),
    fail_msg: z.string().optional().describe('message when one does not hold'),
    success_msg: z.string().optional().describe('message when all hold'),
  }),
  doc: { summary: 'Check that conditions hold, or fail the host', checkMode: 'full', example: '- assert:\n    that: ["ferry_facts.tools.kpartx", "lv | length > 0"]' },
  // Its facts are the task's variables (the controller's, nothing read from the host).
  read: async (ctx) => ({ vars: ctx.vars }),
  decide(p, { vars }) {
    const conds = Array.isArray(p.that) ? p.that : [p.that];
    for (const c of conds) {
      // registered as Ansible does ('Assertion failed', the condition, evaluated_to); shown with the condition
      if (!evaluateCondition(parseExpr(c), vars)) return { refused: p.fail_msg ?? `assertion failed: ${c}`, data: { msg: p.fail_msg ?? 'Assertion failed', assertion: c, evaluated_to: false } };
    }
    return { changed: false, reason: p.success_msg ?? 'all assertions passed', data: { msg: p.success_msg ?? 'All assertions passed' } };
  },
});
