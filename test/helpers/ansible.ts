// Runs Debian's ansible-playbook (ansible-core 2.14) against a harness sshd, so an integration test can
// compare what ferry does with what Ansible does on the same host: the JSON callback gives each task's
// registered result.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SshdHost } from '../harness/sshd.js';

/** Whether ansible-playbook runs here. */
export function hasAnsiblePlaybook(): boolean {
  return spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Skips the running test, saying why, when ansible-playbook is not installed. */
export function skipWithoutAnsible(test: Mocha.Context): void {
  if (hasAnsiblePlaybook()) return;
  console.warn('    ansible-playbook is not installed (apt-get install ansible): skipping');
  test.skip();
}

/**
 * Writes an Ansible inventory reaching the sshd host as `user` with the harness's throwaway key and known
 * hosts only (never the developer's ~/.ssh; files go through ssh itself: the harness sshd has no sftp); returns its path.
 */
export function writeAnsibleInventory(h: SshdHost, dir: string, user: string): string {
  const path = join(dir, 'ansible-inventory.yml');
  const sshArgs = `-F /dev/null -o UserKnownHostsFile=${h.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o IdentityAgent=none`;
  writeFileSync(path, stringify({ all: { hosts: { [h.name]: { ansible_host: h.host, ansible_port: h.port, ansible_user: user, ansible_ssh_private_key_file: h.userKeyFile, ansible_ssh_common_args: sshArgs, ansible_python_interpreter: '/usr/bin/python3', ansible_ssh_transfer_method: 'piped' } } } }));
  return path;
}

/** What one ansible-playbook run gave: its exit code, each task's result for the host (in order), its recap, its output. */
export interface AnsibleRun {
  code: number | null;
  results: Record<string, unknown>[];
  /** The host's PLAY RECAP counts (ok, changed, failures, skipped, ...), empty when the output was not JSON. */
  stats: Record<string, number>;
  output: string;
}

/**
 * Runs `tasks` in one play on the sshd host, logging in as `user` with become (sudo); check mode, -v… and
 * more host variables (ansible_become_password) when asked.
 */
export function ansiblePlaybook(h: SshdHost, user: string, tasks: unknown[], o: { check?: boolean; verbose?: number; hostVars?: Record<string, unknown> } = {}): AnsibleRun {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ansible-'));
  try {
    const ssh = `-F /dev/null -o UserKnownHostsFile=${h.knownHostsFile} -o StrictHostKeyChecking=yes`;
    writeFileSync(
      join(dir, 'inv.yml'),
      stringify({ all: { hosts: { [h.name]: { ansible_host: h.host, ansible_port: h.port, ansible_user: user, ansible_ssh_private_key_file: h.userKeyFile, ansible_ssh_common_args: ssh, ansible_python_interpreter: '/usr/bin/python3', ...o.hostVars } } } }),
    );
    writeFileSync(join(dir, 'pb.yml'), stringify([{ hosts: 'all', gather_facts: false, become: true, tasks }]));
    const env = { ...process.env, HOME: dir, ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'), ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'), ANSIBLE_NOCOLOR: '1', ANSIBLE_PIPELINING: '1' };
    const flags = [...(o.check ? ['--check'] : []), ...(o.verbose ? [`-${'v'.repeat(o.verbose)}`] : [])];
    const r = spawnSync('ansible-playbook', ['-i', 'inv.yml', 'pb.yml', ...flags], { cwd: dir, encoding: 'utf8', env });
    let results: Record<string, unknown>[] = [];
    let stats: Record<string, number> = {};
    try {
      // with -v the JSON follows a "No config file found" line
      const json = JSON.parse(r.stdout.slice(Math.max(0, r.stdout.search(/^\{/m)))) as { plays: { tasks: { hosts: Record<string, Record<string, unknown>> }[] }[]; stats: Record<string, Record<string, number>> };
      results = json.plays.flatMap((p) => p.tasks.map((t) => t.hosts[h.name] ?? {}));
      stats = json.stats[h.name] ?? {};
    } catch {
      // not JSON: the caller sees the output in its assertion message
    }
    return { code: r.status, results, stats, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
