import { describe, expect, it } from "vitest";
import { waitFor } from "./wait.js";

describe("waitFor", () => {
  it("returns the first value that is not null, undefined or false", async () => {
    let calls = 0;
    const value = await waitFor("the third call", () => (++calls >= 3 ? { calls } : false), {
      intervalMs: 1,
    });
    expect(value).toEqual({ calls: 3 });
  });

  it("counts a throwing probe as not yet and names its last error on time-out", async () => {
    await expect(
      waitFor(
        "a server",
        () => {
          throw new Error("ECONNREFUSED");
        },
        { timeoutMs: 20, intervalMs: 1 },
      ),
    ).rejects.toThrow(/timed out after 20 ms waiting for a server: last error Error: ECONNREFUSED/);
  });

  it("stops at once with the abort reason", async () => {
    const started = Date.now();
    await expect(
      waitFor("ready", () => null, { timeoutMs: 10_000, abortIf: () => "the server exited (1)" }),
    ).rejects.toThrow("stopped waiting for ready: the server exited (1)");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("adds the context on time-out", async () => {
    await expect(
      waitFor("x", () => undefined, { timeoutMs: 5, intervalMs: 1, context: () => "log tail" }),
    ).rejects.toThrow(/waiting for x\nlog tail/);
  });
});
