import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindMountsOf, inMountNamespace, SERVICE_ACCOUNT_PATH } from "./pod-volumes.js";

const run = promisify(execFile);

describe("the node agent's pod volumes (mountVolumes)", () => {
  const pod: V1Pod = {
    spec: {
      volumes: [
        { name: "var-run-argo", emptyDir: {} },
        { name: "tmp", emptyDir: {} },
        { name: "kube-api-access-x", projected: { sources: [] } },
        { name: "settings", configMap: { name: "settings" } },
      ],
      containers: [
        {
          name: "main",
          volumeMounts: [
            { name: "var-run-argo", mountPath: "/var/run/argo" },
            { name: "kube-api-access-x", mountPath: SERVICE_ACCOUNT_PATH },
            { name: "tmp", mountPath: "/tmp" },
            { name: "settings", mountPath: "/etc/settings" },
          ],
        },
      ],
    },
  };

  it("maps emptyDirs to the pod's folder and the token mount to its service-account folder, parents first", () => {
    const { mounts, skipped } = bindMountsOf(pod, pod.spec!.containers[0]!, "/pods/p", "/pods/p/root/sa");
    expect(mounts).toEqual([
      { source: "/pods/p/volumes/tmp", target: "/tmp" },
      { source: "/pods/p/volumes/var-run-argo", target: "/var/run/argo" },
      { source: "/pods/p/root/sa", target: SERVICE_ACCOUNT_PATH },
    ]);
    expect(skipped).toEqual(["settings at /etc/settings"]);
  });

  describe("in a mount namespace (needs root)", () => {
    let keep: string;
    let hostFile: string;
    beforeAll(async () => {
      keep = await mkdtemp(join(tmpdir(), "pod-volumes-"));
      await writeFile(join(keep, "marker"), "the pod's own folder\n");
      hostFile = join(await mkdtemp(join(tmpdir(), "pod-volumes-host-")), "host.txt");
      await writeFile(hostFile, "host\n");
    });
    afterAll(async () => {
      await rm(keep, { recursive: true, force: true });
      await rm(join(hostFile, ".."), { recursive: true, force: true });
    });

    it("shows the volume at /tmp, keeps the pod's folder visible, hides the rest of the host's /tmp", async () => {
      const volume = join(keep, "volumes", "tmp");
      await mkdir(volume, { recursive: true });
      const script = [
        "echo written > /tmp/churn-shard-count",
        `cat ${join(keep, "marker")}`,
        `test -e ${hostFile} && echo host-visible || echo host-hidden`,
      ].join("; ");
      const argv = inMountNamespace(["sh", "-c", script], [{ source: volume, target: "/tmp" }], keep);
      const { stdout } = await run(argv[0]!, argv.slice(1));
      expect(stdout).toBe("the pod's own folder\nhost-hidden\n");
      // The write landed in the pod's volume, not in the host's /tmp.
      expect(await readFile(join(volume, "churn-shard-count"), "utf8")).toBe("written\n");
      expect(existsSync(hostFile)).toBe(true);
    });

    it("passes the command's exit code through", async () => {
      const argv = inMountNamespace(
        ["sh", "-c", "exit 3"],
        [{ source: join(keep, "v"), target: "/tmp" }],
        keep,
      );
      const failed = await run(argv[0]!, argv.slice(1)).then(
        () => 0,
        (error: { code: number }) => error.code,
      );
      expect(failed).toBe(3);
    });
  });
});
