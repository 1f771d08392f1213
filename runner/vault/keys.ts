// The vault passwords of one run, and opening vault data with them as Ansible does: a 1.2 envelope
// is tried first with the passwords whose label is its vault id, then with every other password;
// a 1.1 envelope with every password in the order given. Every value decrypted is marked secret.
import { SecretValues } from '../secrets.js';
import { DEFAULT_VAULT_ID, VaultFormatError, decryptEnvelope, parseEnvelope } from './format.js';

/** One vault password and where it came from (a file, a script, a prompt: never the value). */
export interface VaultPassword {
  /** The label (`--vault-id LABEL@SOURCE`), `default` when none was given. */
  id: string;
  password: string;
  /** What to name in messages: `--vault-password-file pw.txt`, `--vault-id prod@prompt`. */
  source: string;
}

/** Why vault data could not be opened (no password, none that opens it, a broken envelope): names no value. */
export class VaultOpenError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** The hint for encrypted input given without any vault password. */
const NO_PASSWORD_HINT = 'give the vault password with --vault-password-file FILE, --vault-id [LABEL@]FILE|prompt or -J/--ask-vault-pass (or set ANSIBLE_VAULT_PASSWORD_FILE)';

/** The vault passwords of a run, and the run's secret values that what they decrypt is added to. */
export class VaultKeys {
  constructor(
    readonly passwords: readonly VaultPassword[],
    readonly secrets: SecretValues = new SecretValues(),
  ) {}

  /**
   * The plaintext of vault data (a whole file's text or an inline `!vault` value), and the password
   * that opened it (and its vault id); `what` names the data in messages (`this file`, `this value`).
   * The plaintext is not yet marked secret: the caller marks what it parses it into.
   */
  open(text: string, what: string): { plaintext: string; vaultId: string; key: VaultPassword } {
    let env;
    try {
      env = parseEnvelope(text);
    } catch (e) {
      if (!(e instanceof VaultFormatError)) throw e;
      throw new VaultOpenError(`${what} is not valid Ansible Vault data: ${e.message}`, 'encrypt it again (ferry vault encrypt, ansible-vault encrypt); it may have been cut or edited by hand');
    }
    const idText = env.vaultId ? `vault id '${env.vaultId}'` : 'vault format 1.1, no vault id';
    if (!this.passwords.length) throw new VaultOpenError(`${what} is encrypted with Ansible Vault (${idText}) and no vault password was given`, NO_PASSWORD_HINT);
    const labelled = env.vaultId ? this.passwords.filter((p) => p.id === env.vaultId) : [];
    const order = [...labelled, ...this.passwords.filter((p) => !labelled.includes(p))];
    for (const p of order) {
      let plain: Buffer | undefined;
      try {
        plain = decryptEnvelope(env, p.password);
      } catch (e) {
        if (!(e instanceof VaultFormatError)) throw e;
        throw new VaultOpenError(`${what} is not valid Ansible Vault data: ${e.message}`, 'encrypt it again; it may have been edited by hand');
      }
      if (plain) return { plaintext: plain.toString('utf8'), vaultId: p.id, key: p };
    }
    const tried = order.map((p) => (p.id === DEFAULT_VAULT_ID ? p.source : `${p.source} (id '${p.id}')`)).join(', ');
    throw new VaultOpenError(
      `wrong vault password: none of those given opens ${what} (${idText}); tried ${tried}`,
      env.vaultId && !labelled.length ? `give the password of vault id '${env.vaultId}': --vault-id ${env.vaultId}@FILE (or @prompt)` : 'check the vault password (or the file or script that gives it)',
    );
  }
}
