// Parameter fields that several file modules share, so `ferry doc` describes them the same way
// and a bad value is refused the same way before any host is contacted.
import { z } from 'zod';
import { parseModeSpec } from './mode.js';

/** A remote path: any bytes but NUL, which no command line can carry. */
export function pathField(description: string) {
  return z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => !s.includes('\0'), 'must not contain a NUL byte')
    .describe(description);
}

// The optional fields carry .describe() outermost: zod 4 keeps a description on the schema it was
// given to, so `.optional()` after it would hide it from `ferry doc`.

/** `mode:` (optional) as playbooks write it: '0644', 644 (YAML 1.2's reading of 0644), or symbolic 'u=rw,g=r'. */
export const modeField = z
  .union([z.string(), z.number()])
  .superRefine((v, ctx) => {
    try {
      parseModeSpec(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  })
  .optional()
  .describe("Permissions: octal ('0644'; an unquoted 0644 is read as octal too) or symbolic ('u=rw,g=r,o=')");

/** A user or group (optional): a name or a numeric id. */
function principalField(what: string) {
  return z
    .union([z.string().min(1), z.number().int().nonnegative()])
    .transform((v) => String(v))
    .optional()
    .describe(`${what} name or numeric id that should own the path`);
}

/** `owner:` */
export const ownerField = principalField('User');
/** `group:` */
export const groupField = principalField('Group');
