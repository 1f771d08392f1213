// The Ansible Vault format (1.1, and 1.2 with a vault id), cipher AES256, read and written with
// node:crypto alone. The envelope is a header line `$ANSIBLE_VAULT;1.1;AES256` (1.2 adds `;ID`)
// and a body: the hex of `hex(salt) \n hex(hmac) \n hex(ciphertext)`, in lines of 80 characters.
// From the password and the 32-byte salt, PBKDF2-HMAC-SHA256 (10000 rounds) derives 80 bytes:
// the AES-256 key, the HMAC-SHA256 key and the 16-byte initial counter. The plaintext is
// PKCS#7-padded to the AES block (as Ansible does, although CTR needs no padding), encrypted with
// AES-256-CTR, and the HMAC-SHA256 of the ciphertext is checked, in constant time, before decrypting.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** The first word of every vault envelope. */
export const VAULT_HEADER = '$ANSIBLE_VAULT';
/** The vault id Ansible uses when none is given (its envelope is then written as 1.1, without an id). */
export const DEFAULT_VAULT_ID = 'default';

const KEY_ITERATIONS = 10_000;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const SALT_BYTES = 32;
const BLOCK_BYTES = 16;
const LINE_WIDTH = 80;

/** The parts of a vault envelope. */
export interface VaultEnvelope {
  version: '1.1' | '1.2';
  cipher: 'AES256';
  /** The vault id a 1.2 envelope names (undefined for 1.1). */
  vaultId?: string;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

/** An envelope that is not well-formed, or a password that does not open it (the message names no value). */
export class VaultFormatError extends Error {}

/** Whether a text is a vault envelope (its first line starts with `$ANSIBLE_VAULT;`). */
export function isVaultText(text: string): boolean {
  return text.trimStart().startsWith(VAULT_HEADER + ';');
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function unhex(text: string, what: string): Buffer {
  if (!HEX.test(text)) throw new VaultFormatError(`the vault ${what} is not hexadecimal`);
  return Buffer.from(text, 'hex');
}

/** Parses a vault envelope (a whole file, or an inline `!vault` value: each line's indentation is ignored). */
export function parseEnvelope(text: string): VaultEnvelope {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  const header = lines[0]!.split(';').map((p) => p.trim());
  if (header[0] !== VAULT_HEADER) throw new VaultFormatError(`a vault envelope starts with ${VAULT_HEADER}`);
  const [, version, cipher, vaultId] = header;
  if (version !== '1.1' && version !== '1.2') {
    throw new VaultFormatError(`vault format version ${JSON.stringify(version ?? '')} is not supported (1.1 and 1.2 are)`);
  }
  if (cipher !== 'AES256') {
    throw new VaultFormatError(`vault cipher ${JSON.stringify(cipher ?? '')} is not supported (only AES256, which Ansible writes)`);
  }
  if (version === '1.2' && !vaultId) throw new VaultFormatError('a vault 1.2 header names a vault id: $ANSIBLE_VAULT;1.2;AES256;ID');
  if (header.length > (version === '1.2' ? 4 : 3)) throw new VaultFormatError(`the vault header has ${header.length} fields`);
  const body = lines.slice(1).join('');
  if (!body) throw new VaultFormatError('the vault envelope has a header and no data');
  const parts = unhex(body, 'data').toString('latin1').split('\n');
  if (parts.length !== 3) throw new VaultFormatError(`the vault data holds ${parts.length} parts, not 3 (salt, hmac, ciphertext)`);
  const [salt, hmac, ciphertext] = [unhex(parts[0]!, 'salt'), unhex(parts[1]!, 'hmac'), unhex(parts[2]!, 'ciphertext')];
  if (salt.length === 0) throw new VaultFormatError('the vault salt is empty');
  if (hmac.length !== 32) throw new VaultFormatError(`the vault hmac is ${hmac.length} bytes, not 32`);
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_BYTES !== 0) {
    throw new VaultFormatError(`the vault ciphertext is ${ciphertext.length} bytes, not a whole number of 16-byte blocks`);
  }
  return { version, cipher, vaultId: version === '1.2' ? vaultId : undefined, salt, hmac, ciphertext };
}

interface Keys {
  cipherKey: Buffer;
  hmacKey: Buffer;
  iv: Buffer;
}

function deriveKeys(password: string, salt: Buffer): Keys {
  const m = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, KEY_ITERATIONS, 2 * KEY_BYTES + IV_BYTES, 'sha256');
  return { cipherKey: m.subarray(0, KEY_BYTES), hmacKey: m.subarray(KEY_BYTES, 2 * KEY_BYTES), iv: m.subarray(2 * KEY_BYTES) };
}

/** Whether the password opens the envelope (its HMAC checks), without decrypting. */
function hmacMatches(env: VaultEnvelope, keys: Keys): boolean {
  const mac = createHmac('sha256', keys.hmacKey).update(env.ciphertext).digest();
  return timingSafeEqual(mac, env.hmac);
}

/**
 * The plaintext of an envelope, or undefined when the password does not open it (the HMAC does
 * not match). A matching HMAC with bad padding is a VaultFormatError.
 */
export function decryptEnvelope(env: VaultEnvelope, password: string): Buffer | undefined {
  const keys = deriveKeys(password, env.salt);
  if (!hmacMatches(env, keys)) return undefined;
  const d = createDecipheriv('aes-256-ctr', keys.cipherKey, keys.iv);
  const padded = Buffer.concat([d.update(env.ciphertext), d.final()]);
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > BLOCK_BYTES || !padded.subarray(padded.length - pad).every((b) => b === pad)) {
    throw new VaultFormatError('the vault data decrypts to badly padded text');
  }
  return padded.subarray(0, padded.length - pad);
}

/** What `encryptVault` may be given besides the plaintext and password. */
export interface EncryptOptions {
  /** The vault id: any but `default` makes a 1.2 envelope naming it, as ansible-vault does. */
  vaultId?: string;
  /** The salt (32 random bytes when not given; tests give one for a reproducible result). */
  salt?: Buffer;
}

/** The vault envelope of a plaintext, ending in a newline, as ansible-vault writes it. */
export function encryptVault(plaintext: string | Buffer, password: string, o: EncryptOptions = {}): string {
  if (password === '') throw new VaultFormatError('a vault password cannot be empty');
  const id = o.vaultId && o.vaultId !== DEFAULT_VAULT_ID ? o.vaultId : undefined;
  if (id !== undefined && /[;\s]/.test(id)) throw new VaultFormatError(`a vault id cannot hold ';' or spaces: ${JSON.stringify(id)}`);
  const salt = o.salt ?? randomBytes(SALT_BYTES);
  const keys = deriveKeys(password, salt);
  const data = Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8');
  const pad = BLOCK_BYTES - (data.length % BLOCK_BYTES);
  const c = createCipheriv('aes-256-ctr', keys.cipherKey, keys.iv);
  const ciphertext = Buffer.concat([c.update(Buffer.concat([data, Buffer.alloc(pad, pad)])), c.final()]);
  const hmac = createHmac('sha256', keys.hmacKey).update(ciphertext).digest();
  const body = Buffer.from([salt.toString('hex'), hmac.toString('hex'), ciphertext.toString('hex')].join('\n'), 'latin1').toString('hex');
  const lines = [id === undefined ? `${VAULT_HEADER};1.1;AES256` : `${VAULT_HEADER};1.2;AES256;${id}`];
  for (let i = 0; i < body.length; i += LINE_WIDTH) lines.push(body.slice(i, i + LINE_WIDTH));
  return lines.join('\n') + '\n';
}
