import type { RequestOptions } from "node:https";
import { describe, expect, it } from "vitest";
import { type AccessToken, type AccessTokenSource, RefreshingAccessToken } from "./access-token.js";
import { gkeKubeConfig, kubeConfigFromEnv } from "./cluster.js";
import { parseFunctionsEnv } from "./config.js";

type HttpsOptions = RequestOptions & { headers?: Record<string, string> };

/** A token source that hands out t1, t2, ... each valid for `lifetimeMs` from the clock's now. */
function countingSource(clock: { now: number }, lifetimeMs: number | null) {
  const source = {
    fetches: 0,
    description: "the test's token source",
    async fetch(): Promise<AccessToken> {
      source.fetches += 1;
      return {
        token: `t${source.fetches}`,
        expiresAt: lifetimeMs === null ? null : new Date(clock.now + lifetimeMs),
      };
    },
  };
  return source;
}

const MINUTE = 60_000;
const pem = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
const ca = Buffer.from(pem).toString("base64");

describe("RefreshingAccessToken", () => {
  it.each([
    // [minutes after the first fetch, token expected, fetches so far]
    [0, "t1", 1],
    [54, "t1", 1], // an hour-long token is reused until 5 minutes before it expires
    [55, "t2", 2], // ... and fetched again then, before it lapses
    [56, "t2", 2],
  ])("at +%i min sends %s (%i fetches)", async (minutes, token, fetches) => {
    const clock = { now: 1_000_000 };
    const source = countingSource(clock, 60 * MINUTE);
    const tokens = new RefreshingAccessToken(source, { now: () => clock.now });
    await tokens.get();
    const start = clock.now;
    for (const step of [54, 55, 56].filter((m) => m <= minutes)) {
      clock.now = start + step * MINUTE;
      await tokens.get();
    }
    clock.now = start + minutes * MINUTE;
    expect(await tokens.get()).toBe(token);
    expect(source.fetches).toBe(fetches);
  });

  it("reuses a token without an expiry for the fallback time only", async () => {
    const clock = { now: 0 };
    const source = countingSource(clock, null);
    const tokens = new RefreshingAccessToken(source, { now: () => clock.now, unknownExpiryTtlMs: MINUTE });
    expect(await tokens.get()).toBe("t1");
    clock.now = MINUTE - 1;
    expect(await tokens.get()).toBe("t1");
    clock.now = MINUTE;
    expect(await tokens.get()).toBe("t2");
  });

  it("concurrent requests share one fetch", async () => {
    const clock = { now: 0 };
    const source = countingSource(clock, 60 * MINUTE);
    const tokens = new RefreshingAccessToken(source, { now: () => clock.now });
    expect(await Promise.all([tokens.get(), tokens.get(), tokens.get()])).toEqual(["t1", "t1", "t1"]);
    expect(source.fetches).toBe(1);
  });

  it("a failed fetch names the source and is not cached", async () => {
    let fail = true;
    const source: AccessTokenSource = {
      description: "the metadata server",
      fetch: async () => {
        if (fail) throw new Error("connect ECONNREFUSED 169.254.169.254:80");
        return { token: "ok", expiresAt: null };
      },
    };
    const tokens = new RefreshingAccessToken(source);
    await expect(tokens.get()).rejects.toThrow(
      "could not get an access token from the metadata server: connect ECONNREFUSED",
    );
    fail = false;
    expect(await tokens.get()).toBe("ok");
  });
});

describe("gkeKubeConfig", () => {
  it("sends the source's current token and trusts only the cluster CA", async () => {
    const clock = { now: 0 };
    const source = countingSource(clock, 10 * MINUTE);
    const kc = gkeKubeConfig({ server: "https://172.16.0.34", caCertBase64: ca }, source, {
      now: () => clock.now,
    });
    expect(kc.getCurrentCluster()?.server).toBe("https://172.16.0.34");
    const first: HttpsOptions = {};
    await kc.applyToHTTPSOptions(first);
    expect(first.headers?.Authorization).toBe("Bearer t1");
    expect(String(first.ca)).toBe(pem);
    expect(first.cert).toBeUndefined();
    // Past the refresh point the next request carries the new token.
    clock.now = 6 * MINUTE;
    const second: HttpsOptions = {};
    await kc.applyToHTTPSOptions(second);
    expect(second.headers?.Authorization).toBe("Bearer t2");
  });

  it("is what kubeConfigFromEnv builds when CHURN_GKE_ENDPOINT is set", async () => {
    const source = countingSource({ now: 0 }, 60 * MINUTE);
    const env = parseFunctionsEnv({ CHURN_GKE_ENDPOINT: "172.16.0.34", CHURN_GKE_CA_CERT: ca });
    const kc = await kubeConfigFromEnv(env, { tokens: source });
    expect(kc.getCurrentCluster()?.server).toBe("https://172.16.0.34");
    const options: HttpsOptions = {};
    await kc.applyToHTTPSOptions(options);
    expect(options.headers?.Authorization).toBe("Bearer t1");
  });
});
