// `debug`: print a message or a variable's value (Ansible's debug). Reads nothing on the host.
import { z } from 'zod';
import { evaluate, parseExpr } from '../runner/expr/index.js';
import { defineModule } from '../runner/module.js';

export const debugModule = defineModule({
  name: 'debug',
  params: z.strictObject({
    msg: z.unknown().optional().describe('the message to print (templated like any argument)'),
    var: z.string().optional().describe('an expression whose value to print, e.g. result.stdout'),
    verbosity: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('print only when ferry runs with at least this many -v; otherwise the task is skipped ("Verbosity threshold not met."), as in Ansible'),
  }),
  freeForm: 'msg',
  doc: {
    summary: 'Print a message or the value of a variable',
    checkMode: 'full',
    result: { msg: 'the printed text', skipped_reason: "'Verbosity threshold not met.' when the task was skipped for its verbosity" },
    example: '- debug: { var: result.stdout_lines }\n- debug: { msg: "disk is {{ partitions[0] }}" }\n- debug: { var: result, verbosity: 1 }   # only with ferry run -v',
  },
  // Its facts are the task's variables and the run's -v count (the controller's, nothing read from the host).
  read: async (ctx) => ({ vars: ctx.vars, verbosity: ctx.verbosity }),
  decide(p, { vars, verbosity }) {
    // Ansible's debug action: under the threshold nothing is evaluated and the task is skipped
    if (p.verbosity > verbosity) return { changed: false, skipped: true, reason: 'Verbosity threshold not met.' };
    const value = p.var !== undefined ? evaluate(parseExpr(p.var), vars) : p.msg ?? 'Hello world!';
    const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    return { changed: false, reason: p.var !== undefined ? `${p.var} = ${text}` : text, data: { msg: value } };
  },
});
