import { describe, expect, it } from "vitest";
import { describeEnvironment, ENVIRONMENT, envValue } from "./environment.js";
import { UsageError } from "./errors.js";

describe("the environment table", () => {
  it("gives typed values, and undefined for unset or blank variables", () => {
    expect(envValue({ CHURN_LEASE_TTL_MS: "1500" }, "CHURN_LEASE_TTL_MS")).toBe(1500);
    expect(envValue({ CHURN_DEBUG: "1" }, "CHURN_DEBUG")).toBe(true);
    expect(envValue({ CHURN_DEBUG: "0" }, "CHURN_DEBUG")).toBe(false);
    expect(envValue({ CHURN_LOG_LEVEL: "warn" }, "CHURN_LOG_LEVEL")).toBe("warn");
    expect(envValue({}, "CHURN_BUCKET")).toBeUndefined();
    expect(envValue({ CHURN_PUSHGATEWAY_URL: "  " }, "CHURN_PUSHGATEWAY_URL")).toBeUndefined();
  });

  it.each([
    ["CHURN_LEASE_TTL_MS", "abc", "a whole number of milliseconds"],
    ["CHURN_LEASE_TTL_MS", "10", "from 500 to 3600000"],
    ["CHURN_LOG_LEVEL", "verbose", "debug, info, warn or error"],
    ["CHURN_DEBUG", "yes", "1 or 0"],
    ["CHURN_PUSHGATEWAY_URL", "pushgateway:9091", "an http(s) URL"],
    ["MLFLOW_TRACKING_URI", "ftp://mlflow", "an http(s) URL"],
  ] as const)("%s=%s is refused naming the variable and its rule", (name, value, rule) => {
    const read = () => envValue({ [name]: value }, name);
    expect(read).toThrow(UsageError);
    expect(read).toThrow(`environment variable ${name} must be`);
    expect(read).toThrow(rule);
  });

  it("never echoes a secret it refuses", () => {
    const read = () => envValue({ CHURN_UI_TOKEN: "short-secret" }, "CHURN_UI_TOKEN");
    expect(read).toThrow("got 12 characters");
    expect(read).not.toThrow("short-secret");
  });

  it("lists every variable with its rule for --help", () => {
    const text = describeEnvironment();
    for (const [name, spec] of Object.entries(ENVIRONMENT)) {
      expect(text).toContain(name);
      expect(text).toContain(spec.rule);
    }
  });
});
