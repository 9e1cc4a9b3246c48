/**
 * Who a participants' request is from: a team token (`Authorization: Bearer cht_…`), checked against its
 * salted hash, with repeated bad tokens from one address slowed down (429) and logged for operators.
 * The /team pages sign in with the same check and then carry a session cookie (web/team-pages.ts).
 */
import { tokenIdOf, verifyToken } from '../domain/teams/tokens.js';
import type { TeamRecord } from '../infra/team-store.js';
import type { RequestHeaders, TeamContext } from './team-context.js';

/** Bad tokens per address in a sliding window; in memory (one web process: a restart forgets, which only helps the guesser for one window). */
export class BadTokenThrottle {
  private readonly failures = new Map<string, number[]>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds the address must wait, or null when it may try. */
  blockedFor(address: string, now: number): number | null {
    const recent = (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
    if (recent.length === 0) this.failures.delete(address);
    else this.failures.set(address, recent);
    return recent.length >= this.limit ? recent[0]! + this.windowMs - now : null;
  }

  recordFailure(address: string, now: number): void {
    const list = this.failures.get(address) ?? [];
    list.push(now);
    this.failures.set(address, list);
    if (this.failures.size > 100_000) this.failures.delete(this.failures.keys().next().value!); // bounded memory under a spray of addresses
  }
}

const throttles = new WeakMap<object, BadTokenThrottle>();

/** The throttle of one door (one per server). */
export function throttleOf(context: TeamContext): BadTokenThrottle {
  let throttle = throttles.get(context.door);
  if (!throttle) {
    const { badTokensPerWindow, badTokenWindow } = context.door.competition.intake;
    throttle = new BadTokenThrottle(badTokensPerWindow, badTokenWindow);
    throttles.set(context.door, throttle);
  }
  return throttle;
}

export const nowOf = (context: TeamContext): number => (context.door.now ?? Date.now)();

export type TokenCheck =
  | { kind: 'team'; team: TeamRecord; tokenId: string }
  /** 401: no token, malformed, unknown or wrong. */
  | { kind: 'unauthenticated'; message: string }
  /** 403: the team exists but is disabled. */
  | { kind: 'disabled'; team: string; message: string }
  /** 429: this address sent too many bad tokens. */
  | { kind: 'throttled'; retryAfterMs: number; message: string };

/** The bearer token of a request, or null. */
export function bearerOf(headers: RequestHeaders): string | null {
  const raw = headers['authorization'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  const match = value ? /^\s*Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match ? match[1]! : null;
}

/** Checks a presented team token (see the module comment). */
export async function checkTeamToken(context: TeamContext, token: string | null, remoteAddress: string): Promise<TokenCheck> {
  const throttle = throttleOf(context);
  const now = nowOf(context);
  const wait = throttle.blockedFor(remoteAddress, now);
  if (wait !== null) return { kind: 'throttled', retryAfterMs: wait, message: `too many bad tokens from this address; try again in ${Math.ceil(wait / 1000)} s` };
  const bad = (message: string): TokenCheck => {
    throttle.recordFailure(remoteAddress, now);
    console.error(`challenge serve: bad team token from ${remoteAddress || '(unknown address)'}: ${message}`);
    return { kind: 'unauthenticated', message };
  };
  if (token === null) return { kind: 'unauthenticated', message: 'send your team token: Authorization: Bearer <token> (challenge team add printed it)' };
  const tokenId = tokenIdOf(token);
  const found = tokenId ? await context.db.tokenById(tokenId) : undefined;
  const valid = await verifyToken(token, found?.token);
  if (!valid || !found) return bad('the team token is not valid; ask the organizers for a new one (challenge team rotate-token <team>)');
  const team = await context.db.team(found.team);
  if (!team) return bad('the team of this token no longer exists');
  if (team.disabled) return { kind: 'disabled', team: team.name, message: `team ${team.name} is disabled; ask the organizers why` };
  return { kind: 'team', team, tokenId: found.token.tokenId };
}
