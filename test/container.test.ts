import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// No Docker engine runs here: the image is checked statically (hadolint and
// the facts the chart relies on) and its entrypoint is run as a plain process
// the way the image runs it (cwd /, HOME=/tmp, production env).
const root = resolve(import.meta.dirname, "..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const cache = process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test");
const hadolint = join(cache, "venv-lint", "bin", "hadolint");
const bin = join(root, "dist", "cli", "bin.js");

describe("container image", () => {
  it("passes hadolint", () => {
    expect(existsSync(hadolint), `hadolint missing: run bash test/services/install-linters.sh`).toBe(true);
    const result = spawnSync(hadolint, ["--failure-threshold", "info", join(root, "Dockerfile")], {
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("is multi-stage, runs as numeric non-root, and enters through the churn bin", () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toMatch(/^65534(:65534)?$/);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: { churn: string } };
    expect(dockerfile).toContain(`"/app/${pkg.bin.churn}"`);
  });

  it("starts node with the same flags as a local step process", async () => {
    const { IMAGE_ENTRYPOINT, STEP_NODE_FLAGS } = await import("../pipelines/runner/executor.js");
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? "[]")).toEqual(IMAGE_ENTRYPOINT);
    expect(IMAGE_ENTRYPOINT).toContain(STEP_NODE_FLAGS[0]);
  });

  it("copies the files the runtime reads from outside dist/ (the console's static pages)", async () => {
    const { staticDir } = await import("../serving/console/static-files.js");
    const relative = staticDir().slice(root.length + 1);
    expect(existsSync(join(root, relative, "index.html"))).toBe(true);
    expect(dockerfile).toContain(`COPY --from=build /app/${relative} ./${relative}`);
  });

  it("entrypoint runs as a plain process with the image's environment", () => {
    expect(existsSync(bin), "dist/ missing: run npm run build").toBe(true);
    const env = { PATH: process.env.PATH, NODE_ENV: "production", HOME: "/tmp", TMPDIR: "/tmp" };
    const help = spawnSync(process.execPath, [bin, "--help"], { cwd: "/", env, encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: churn/);
    const schema = spawnSync(process.execPath, [bin, "config", "schema"], {
      cwd: "/",
      env,
      encoding: "utf8",
    });
    expect(schema.status).toBe(0);
    expect(JSON.parse(schema.stdout).additionalProperties).toBe(false);
    const bad = spawnSync(process.execPath, [bin, "config", "show", "--bucket", "/nonexistent"], {
      cwd: "/",
      env,
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no bucket at file:\/\/\/nonexistent: the folder does not exist/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
