/**
 * Team tokens: `cht_<tokenId>_<secret>`. The token id (12 hex characters) is public and finds the row; the
 * secret (32 random bytes, base64url) is stored only as a salted scrypt hash and compared in constant time.
 * A 256-bit random secret cannot be guessed, so scrypt's cost is kept low enough for an upload burst; what it
 * buys is that a copy of the database gives no usable token.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface StoredToken {
  tokenId: string;
  /** hex */
  salt: string;
  /** hex, scrypt(secret, salt) */
  hash: string;
}

export const SCRYPT_PARAMS = { N: 1024, r: 8, p: 1, keylen: 32 } as const;
const TOKEN_PATTERN = /^cht_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

function scryptHex(secret: string, saltHex: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(saltHex, 'hex'), SCRYPT_PARAMS.keylen, { N: SCRYPT_PARAMS.N, r: SCRYPT_PARAMS.r, p: SCRYPT_PARAMS.p }, (error, key) =>
      error ? reject(error) : resolve(key.toString('hex')),
    );
  });
}

/** A new token: the text to give the team once, and what to store. */
export async function newToken(): Promise<{ token: string; stored: StoredToken }> {
  const tokenId = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16).toString('hex');
  return { token: `cht_${tokenId}_${secret}`, stored: { tokenId, salt, hash: await scryptHex(secret, salt) } };
}

/** The token id of a well-formed token, else null (a malformed token is a bad token). */
export function tokenIdOf(token: string): string | null {
  return TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

const DUMMY: StoredToken = { tokenId: '000000000000', salt: '00'.repeat(16), hash: '00'.repeat(32) };

/**
 * Whether `token` is the one `stored` was made from. Always runs scrypt (on a dummy when there is nothing
 * stored), so an unknown token id takes as long as a wrong secret.
 */
export async function verifyToken(token: string, stored: StoredToken | undefined): Promise<boolean> {
  const match = TOKEN_PATTERN.exec(token);
  const against = stored ?? DUMMY;
  const computed = Buffer.from(await scryptHex(match?.[2] ?? 'x', against.salt), 'hex');
  const expected = Buffer.from(against.hash, 'hex');
  const same = computed.length === expected.length && timingSafeEqual(computed, expected);
  return same && match !== null && stored !== undefined && match[1] === stored.tokenId;
}

/** sha256 hex of a session cookie's secret: what the store keeps. */
export const sessionHash = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');
