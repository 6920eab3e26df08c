/**
 * The status page's logins: a random session id per login, kept in memory, so the cookie is never the token itself
 * and logging out really ends the session. Each session remembers a digest of the token it was opened with: a new
 * admin.token (a config reload) ends every session opened with the old one. Bounded: the oldest go first.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface LoginSessionOptions {
  /** how long a login lasts */
  ttlMs?: number;
  /** sessions kept at most; a login beyond it ends the oldest */
  max?: number;
  clock?: () => number;
  newId?: () => string;
}

interface Session {
  expires: number;
  token: Buffer;
}

export const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** the same length whatever was presented, so the comparison's time says nothing about the token */
export const sameToken = (presented: string, token: string): boolean => timingSafeEqual(digest(presented), digest(token));

export class LoginSessions {
  readonly ttlMs: number;
  private readonly max: number;
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly sessions = new Map<string, Session>();

  constructor({ ttlMs = 12 * 3600_000, max = 1_000, clock = Date.now, newId = () => randomBytes(32).toString('base64url') }: LoginSessionOptions = {}) {
    this.ttlMs = ttlMs;
    this.max = max;
    this.clock = clock;
    this.newId = newId;
  }

  /** a new session for someone who presented `token`; its id goes in the cookie */
  open(token: string): string {
    const id = this.newId();
    this.sessions.set(id, { expires: this.clock() + this.ttlMs, token: digest(token) });
    // a Map iterates in insertion order: the first key is the oldest login
    while (this.sessions.size > this.max) this.sessions.delete(this.sessions.keys().next().value as string);
    return id;
  }

  /** the session exists, has not expired, and was opened with the token in force now */
  valid(id: string, token: string): boolean {
    const session = this.sessions.get(id);
    if (session === undefined) return false;
    if (session.expires <= this.clock() || !timingSafeEqual(session.token, digest(token))) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}
