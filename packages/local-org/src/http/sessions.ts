import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Faults } from '../faults.js';

/** a session belongs to one user: every write it makes is that user's (CreatedById, LastModifiedById) */
type Session = { issuedAt: number; requests: number; userId: string };

const bearerToken = (req: IncomingMessage): string | undefined =>
  /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];

/** Access tokens: issued by the token endpoint, checked on every API request, expired by the sessionExpiry fault. */
export class Sessions {
  private readonly live = new Map<string, Session>();
  private readonly issued = new Set<string>();

  public constructor(
    private readonly orgId: string,
    private readonly faults: Faults,
  ) {}

  public issue(userId: string): string {
    const secret = randomBytes(72).toString('base64').replace(/[+/=]/g, '').slice(0, 96);
    const token = `${this.orgId.slice(0, 15)}!${secret}`;
    this.live.set(token, { issuedAt: Date.now(), requests: 0, userId });
    this.issued.add(token);
    return token;
  }

  /** Validates the bearer token, counting the request against its session: the session's user, or undefined. */
  public authenticate(req: IncomingMessage): string | undefined {
    const token = bearerToken(req);
    const session = token === undefined ? undefined : this.live.get(token);
    if (token === undefined || !session) return undefined;
    session.requests += 1;
    const expiry = this.faults.value.sessionExpiry;
    const expired =
      (expiry?.afterRequests !== undefined && session.requests > expiry.afterRequests) ||
      (expiry?.afterSeconds !== undefined && Date.now() - session.issuedAt > expiry.afterSeconds * 1000);
    if (expired) {
      this.live.delete(token);
      return undefined;
    }
    return session.userId;
  }

  /** Any token this org issued, expired ones included. */
  public wasIssued(req: IncomingMessage): boolean {
    const token = bearerToken(req);
    return token !== undefined && this.issued.has(token);
  }
}
