// `vars_prompt`: the variables a play asks for before the run, as ansible-playbook asks them. A name
// given with -e is not asked; off a terminal the default is taken, and a prompt without one is bad
// input (Ansible would silently set None), found before any host is contacted.
import { ValidationError, type Problem } from '../errors.js';
import type { SecretValues } from '../secrets.js';
import { isTemplated } from '../template.js';
import { setLoc } from '../yaml-source.js';
import type { Playbook, VarPrompt } from './model.js';

/** Asks one question on the terminal; `secret`: nothing typed is shown. */
export type TerminalQuestion = (question: string, secret: boolean) => Promise<string>;

/** How prompts are answered: `ask` is undefined off a terminal; `say` prints a notice (a mismatch). */
export interface PromptIo {
  ask?: TerminalQuestion;
  say: (line: string) => void;
}

/** What Ansible shows when the two answers of a `confirm: true` prompt differ. */
export const MISMATCH = '***** VALUES ENTERED DO NOT MATCH ****';

/** The question as ansible-playbook words it: `Prompt [default]: `. */
export function promptQuestion(p: VarPrompt): string {
  return p.default !== undefined ? `${p.prompt} [${p.default}]: ` : `${p.prompt}: `;
}

/** An answer that is never rendered: each `{` written as a template of itself, so `{{ x }}` stays text. */
export function unsafeText(answer: string): string {
  return isTemplated(answer) ? answer.replace(/\{/g, "{{ '{' }}") : answer;
}

/** The prompts the run must ask: those of every play whose name no -e gives. */
function pending(pb: Playbook, extraVars: Record<string, unknown>): VarPrompt[] {
  return pb.plays.flatMap((p) => (p.varsPrompt ?? []).filter((v) => !Object.hasOwn(extraVars, v.name)));
}

/** Off a terminal: the prompts that have no default, as problems naming where each is written. */
export function unanswerable(pb: Playbook, extraVars: Record<string, unknown>): Problem[] {
  return pending(pb, extraVars)
    .filter((p) => p.default === undefined)
    .map((p) => ({
      loc: p.loc,
      message: `vars_prompt '${p.name}': there is no terminal to ask "${p.prompt}" on, and it has no default`,
      hint: `give it on the command line (-e ${p.name}=VALUE), add default: to the prompt, or run ferry on a terminal`,
    }));
}

/** Asks one prompt (twice with confirm:, until both answers match); an empty answer takes the default. */
async function answer(p: VarPrompt, io: Required<PromptIo>): Promise<string> {
  for (;;) {
    const first = await io.ask(promptQuestion(p), p.private);
    if (p.confirm && (await io.ask(`confirm ${promptQuestion(p)}`, p.private)) !== first) {
      io.say(MISMATCH);
      continue;
    }
    return first === '' && p.default !== undefined ? p.default : first;
  }
}

/**
 * Answers every play's vars_prompt into its vars (below vars_files, as in Ansible), a private answer
 * marked secret. Off a terminal the defaults are taken; a prompt without one is bad input, reported
 * (all of them) before anything is asked.
 */
export async function answerVarsPrompts(pb: Playbook, extraVars: Record<string, unknown>, io: PromptIo, secrets: SecretValues): Promise<void> {
  if (!io.ask) {
    const problems = unanswerable(pb, extraVars);
    if (problems.length) throw new ValidationError(problems);
  }
  for (const play of pb.plays) {
    for (const p of play.varsPrompt ?? []) {
      if (Object.hasOwn(extraVars, p.name)) continue;
      const value = io.ask ? await answer(p, { ask: io.ask, say: io.say }) : p.default!;
      if (p.private) secrets.add(value);
      play.vars[p.name] = p.unsafe ? unsafeText(value) : value;
      setLoc(play.vars, p.loc, p.name);
    }
  }
}
