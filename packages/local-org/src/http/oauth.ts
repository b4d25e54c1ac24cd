/* eslint-disable camelcase -- OAuth and identity documents are snake_case on the wire */
import { randomBytes } from 'node:crypto';
import { formatDateTime } from '../rows.js';
import type { ObjectStore, StoredRecord } from '../store.js';
import { MAX_API_VERSION } from './documents.js';
import { json, type Exchange } from './exchange.js';
import type { Sessions } from './sessions.js';

export type Identity = { orgId: string; userId: string; username: string; clientId: string; refreshToken: string };

/**
 * The token endpoint (how every login reaches the org), and the user's identity as userinfo and the id URL
 * serve it.
 */
export class OAuth {
  public constructor(
    private readonly identity: Identity,
    private readonly sessions: Sessions,
    private readonly instanceUrl: () => string,
    private readonly users: ObjectStore,
  ) {}

  /** The id URL of the org's admin user, which the token answer names and GET /id/:org/:user serves. */
  public get identityUrl(): string {
    return this.identityUrlOf(this.identity.userId);
  }

  public identityUrlOf(userId: string): string {
    return `${this.instanceUrl()}/id/${this.identity.orgId}/${userId}`;
  }

  /**
   * An access token for one of the org's users, as a JWT bearer login of that user gets one: the way a
   * test acts as "someone else" (LocalOrg.sessionFor). Undefined for an unknown or inactive user.
   */
  public sessionFor(username: string): string | undefined {
    const user = this.userNamed(username);
    return user && user.IsActive !== false ? this.sessions.issue(user.Id) : undefined;
  }

  /** True when an /id/:org path names this org (by its 15- or 18-character id). */
  public isOwnOrg(orgId: string): boolean {
    return orgId === this.identity.orgId || orgId === this.identity.orgId.slice(0, 15);
  }

  /** POST /services/oauth2/token: the refresh-token, JWT bearer and client-credentials grants. */
  public token(x: Exchange, form: URLSearchParams): void {
    const { identity } = this;
    const grant = form.get('grant_type');
    const invalid = (description: string): void =>
      json(x, 400, { error: 'invalid_grant', error_description: description });
    let userId = identity.userId;
    if (grant === 'refresh_token') {
      if (form.get('refresh_token') !== identity.refreshToken) return invalid('expired access/refresh token');
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const assertion = form.get('assertion') ?? '';
      let subject: unknown;
      try {
        const claims = Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8');
        subject = (JSON.parse(claims) as { sub?: unknown }).sub;
      } catch {
        return invalid('invalid assertion');
      }
      // The JWT flow logs in whichever user the assertion names (its `sub`, a Username of the org).
      const user = typeof subject === 'string' ? this.userNamed(subject) : undefined;
      if (!user) return invalid("user hasn't approved this consumer");
      // OAuth 2.0 error list of the Salesforce Help ("OAuth 2.0 ... Flow Errors"): inactive user. The
      // error_description text is not confirmed by a public capture.
      if (user.IsActive === false) return invalid('inactive user');
      userId = user.Id;
    } else if (grant === 'client_credentials') {
      if (form.get('client_id') !== identity.clientId) {
        return json(x, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
      }
    } else {
      return json(x, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
    const accessToken = this.sessions.issue(userId);
    const issuedAt = String(Date.now());
    json(x, 200, {
      access_token: accessToken,
      signature: randomBytes(32).toString('base64'),
      scope: grant === 'refresh_token' ? 'refresh_token web api' : 'web api',
      instance_url: this.instanceUrl(),
      id: this.identityUrlOf(userId),
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  }

  /** GET /services/oauth2/userinfo, of the session's user */
  public userInfo(userId = this.identity.userId): Record<string, unknown> {
    const user = this.users.records.get(userId);
    const identity = { ...this.identity, userId, username: String(user?.Username ?? this.identity.username) };
    const first = String(user?.FirstName ?? 'Local');
    const last = String(user?.LastName ?? 'Admin');
    const instanceUrl = this.instanceUrl();
    const base = `${instanceUrl}/services/data/v{version}`;
    return {
      sub: this.identityUrlOf(userId),
      user_id: identity.userId,
      organization_id: identity.orgId,
      preferred_username: identity.username,
      nickname: identity.username.split('@')[0],
      name: `${first} ${last}`,
      email: String(user?.Email ?? identity.username),
      email_verified: true,
      given_name: first,
      family_name: last,
      zoneinfo: 'GMT',
      photos: {},
      profile: `${instanceUrl}/${identity.userId}`,
      picture: '',
      address: {},
      is_salesforce_integration_user: false,
      urls: {
        enterprise: `${instanceUrl}/services/Soap/c/{version}/${identity.orgId}`,
        partner: `${instanceUrl}/services/Soap/u/{version}/${identity.orgId}`,
        rest: `${base}/`,
        sobjects: `${base}/sobjects/`,
        search: `${base}/search/`,
        query: `${base}/query/`,
        recent: `${base}/recent/`,
        limits: `${base}/limits/`,
        custom_domain: instanceUrl,
      },
      active: user?.IsActive !== false,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      updated_at: formatDateTime(new Date(0)).replace('.000+0000', 'Z'),
      is_app_installed: true,
      api_version: `${MAX_API_VERSION}.0`,
    };
  }

  /** GET /id/:org/:user, of the session's user */
  public identityDocument(userId = this.identity.userId): Record<string, unknown> {
    const info = this.userInfo(userId);
    return {
      id: info.sub,
      asserted_user: true,
      user_id: info.user_id,
      organization_id: info.organization_id,
      username: info.preferred_username,
      nick_name: info.nickname,
      display_name: info.name,
      email: info.email,
      email_verified: true,
      first_name: info.given_name,
      last_name: info.family_name,
      timezone: 'GMT',
      photos: {},
      addr_street: null,
      addr_city: null,
      addr_state: null,
      addr_country: null,
      addr_zip: null,
      mobile_phone: null,
      mobile_phone_verified: false,
      is_lightning_login_user: false,
      status: { created_date: null, body: null },
      urls: info.urls,
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      last_modified_date: info.updated_at,
      is_app_installed: true,
    };
  }

  private userNamed(username: string): StoredRecord | undefined {
    const ids = this.users.findBy('Username', username);
    return ids.length === 1 ? this.users.records.get(ids[0]) : undefined;
  }
}
