import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { expandVars, imageMatches, parseMemory, resolveFieldRef, withLocalEntrypoint } from "./node-agent.js";

// The node agent's pure parts; the agent as a whole is exercised by test/kube-smoke.test.ts.
describe("node agent helpers", () => {
  it("expands $(VAR) like the kubelet: known names, $$ escapes, unknown names kept", () => {
    const env = { A: "1", B: "two" };
    expect(expandVars("$(A)-$(B)", env)).toBe("1-two");
    expect(expandVars("$$(A)", env)).toBe("$(A)");
    expect(expandVars("$(MISSING)/$A", env)).toBe("$(MISSING)/$A");
  });

  it("resolves downward-API field paths, including the completion-index annotation", () => {
    const pod: V1Pod = {
      metadata: {
        name: "p-0",
        namespace: "ns",
        uid: "u1",
        labels: { app: "churn" },
        annotations: { "batch.kubernetes.io/job-completion-index": "3" },
      },
      spec: { nodeName: "n1", serviceAccountName: "runner", containers: [] },
    };
    expect(resolveFieldRef(pod, "metadata.annotations['batch.kubernetes.io/job-completion-index']")).toBe(
      "3",
    );
    expect(resolveFieldRef(pod, "metadata.labels['app']")).toBe("churn");
    expect(resolveFieldRef(pod, "metadata.labels['absent']")).toBe("");
    expect(resolveFieldRef(pod, "metadata.name")).toBe("p-0");
    expect(resolveFieldRef(pod, "spec.serviceAccountName")).toBe("runner");
    expect(() => resolveFieldRef(pod, "status.phase")).toThrow(/unsupported fieldRef status.phase/);
  });

  it("reads memory quantities in binary and decimal units", () => {
    expect(parseMemory("64Mi")).toBe(64 * 2 ** 20);
    expect(parseMemory("1G")).toBe(1e9);
    expect(parseMemory("1500")).toBe(1500);
    expect(() => parseMemory("lots")).toThrow(/cannot read memory quantity lots/);
  });

  it("matches image patterns with * wildcards and nothing else", () => {
    expect(imageMatches("*churn*", "europe-docker.pkg.dev/p/churn/churn:1.0")).toBe(true);
    expect(imageMatches("churn:*", "churn:latest")).toBe(true);
    expect(imageMatches("churn:*", "xchurn:latest")).toBe(false);
    expect(imageMatches("node:20.1", "node:2001")).toBe(false);
  });

  it("runs the image's ENTRYPOINT as the local one, also under Argo's emissary wrapper, and nothing else", () => {
    const image = ["/nodejs/bin/node", "--max-semi-space-size=64", "/app/dist/cli/bin.js"];
    const local = ["/usr/bin/node", "/repo/dist/cli/bin.js"];
    expect(withLocalEntrypoint([...image, "pipeline", "step"], image, local)).toEqual([
      ...local,
      "pipeline",
      "step",
    ]);
    const wrapper = ["/var/run/argo/argoexec", "emissary", "--loglevel", "info", "--"];
    expect(withLocalEntrypoint([...wrapper, ...image, "score"], image, local)).toEqual([
      ...wrapper,
      ...local,
      "score",
    ]);
    // Another command, a partial entrypoint, or another wrapper stays as written.
    expect(withLocalEntrypoint(["sh", "-c", "true"], image, local)).toEqual(["sh", "-c", "true"]);
    expect(withLocalEntrypoint(["/nodejs/bin/node", "x.js"], image, local)).toEqual([
      "/nodejs/bin/node",
      "x.js",
    ]);
    expect(withLocalEntrypoint(["env", "--", ...image], image, local)).toEqual(["env", "--", ...image]);
  });
});
