import { messageOf } from "../components/common/errors.js";

/** An OAuth 2 access token and when it stops working (null: the source did not say). */
export interface AccessToken {
  token: string;
  expiresAt: Date | null;
}

/**
 * Where the function's access tokens come from. In Cloud Functions that is
 * google-auth-library reading the function's service account from the
 * metadata server (`googleAccessTokenSource`); tests pass their own.
 */
export interface AccessTokenSource {
  /** Names the source in error messages, e.g. "the function's Google service account". */
  readonly description: string;
  fetch(): Promise<AccessToken>;
}

/** Scope of the token GKE accepts: cloud-platform (what the functions' default credentials carry). */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/**
 * The function's own Google service account through google-auth-library
 * (Application Default Credentials: the metadata server in Cloud Functions,
 * GOOGLE_APPLICATION_CREDENTIALS elsewhere). Loaded lazily so importing this
 * module costs nothing.
 */
export function googleAccessTokenSource(): AccessTokenSource {
  let client: Promise<{
    getAccessToken(): Promise<{ token?: string | null }>;
    credentials: { expiry_date?: number | null };
  }> | null = null;
  return {
    description: "the function's Google service account (Application Default Credentials)",
    async fetch() {
      client ??= import("google-auth-library").then(({ GoogleAuth }) =>
        new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] }).getClient(),
      );
      const c = await client;
      const { token } = await c.getAccessToken();
      if (!token) throw new Error("google-auth-library returned no access token");
      const expiry = c.credentials.expiry_date;
      return { token, expiresAt: typeof expiry === "number" ? new Date(expiry) : null };
    },
  };
}

export interface RefreshOptions {
  /** Fetch a new token this long before the current one expires (default 5 minutes, as google-auth-library). */
  refreshMarginMs?: number;
  /** Reuse a token without an expiry for this long (default 10 minutes). */
  unknownExpiryTtlMs?: number;
  now?: () => number;
}

/**
 * A cached access token, fetched again before it expires, so no request goes
 * out with a token about to lapse, and concurrent requests share one fetch.
 * A failed fetch is not cached: the next request tries again.
 */
export class RefreshingAccessToken {
  private current: { token: string; refreshAt: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly margin: number;
  private readonly unknownTtl: number;
  private readonly now: () => number;

  constructor(
    private readonly source: AccessTokenSource,
    options: RefreshOptions = {},
  ) {
    this.margin = options.refreshMarginMs ?? 5 * 60_000;
    this.unknownTtl = options.unknownExpiryTtlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The token to send now. */
  async get(): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) return this.current.token;
    this.pending ??= this.refresh().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async refresh(): Promise<string> {
    let fetched: AccessToken;
    try {
      fetched = await this.source.fetch();
    } catch (error) {
      throw new Error(`could not get an access token from ${this.source.description}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    const fetchedAt = this.now();
    const refreshAt = fetched.expiresAt
      ? fetched.expiresAt.getTime() - this.margin
      : fetchedAt + this.unknownTtl;
    // A token already inside the margin is still sent once (it is the newest there is).
    this.current = { token: fetched.token, refreshAt };
    return fetched.token;
  }
}
