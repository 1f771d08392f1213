// `debug`: print a message or a variable's value (Ansible's debug). Reads nothing on the host.
import { z } from 'zod';
import { evaluate, parseExpr } from '../runner/expr/index.js';
import { defineModule } from '../runner/module.js';

export const debugModule = defineModule({
  name: 'debug',
  params: z.strictObject({
    msg: z.unknown().optional().describe('the message to print (templated like any argument)'),
    var: z.string().optional().describe('an expression whose value to print, e.g. result.stdout'),
  }),
  freeForm: 'msg',
  doc: {
    summary: 'Print a message or the value of a variable',
    checkMode: 'full',
    result: { msg: 'the printed text' },
    example: '- debug: { var: result.stdout_lines }\n- debug: { msg: "disk is {{ partitions[0] }}" }',
  },
  // Its facts are the task's variables (the controller's, nothing read from the host).
  read: async (ctx) => ({ vars: ctx.vars }),
  decide(p, { vars }) {
    const value = p.var !== undefined ? evaluate(parseExpr(p.var), vars) : p.msg ?? 'Hello world!';
    const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    return { changed: false, reason: p.var !== undefined ? `${p.var} = ${text}` : text, data: { msg: value } };
  },
});
