/**
 * Volumes for the node agent's pods, when the cluster is started with
 * `mountVolumes: true`: each container then runs in its own mount namespace
 * (`unshare --mount`) where the pod's emptyDir volumes and its service-account
 * folder are bind-mounted at their real paths. Argo's emissary executor needs
 * exactly that: its init container copies argoexec into the `var-run-argo`
 * emptyDir at /var/run/argo, the main container runs `/var/run/argo/argoexec
 * emissary -- <command>` and leaves exit codes and output parameters there for
 * the wait container, and argoexec finds its credentials at the fixed
 * in-cluster path.
 */
import { join } from "node:path";
import type { V1Container, V1Pod } from "@kubernetes/client-node";

/** Where a real kubelet mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

export type BindMount = { source: string; target: string };

/**
 * The bind mounts of one container: an emptyDir volume is `<pod dir>/volumes/<name>`
 * (shared by the pod's containers, as on a kubelet), the service-account mount is the
 * agent's token folder. Other volume types are not provided and are returned in `skipped`.
 * Parents come before children, so /tmp is mounted before /tmp/x.
 */
export function bindMountsOf(
  pod: V1Pod,
  container: V1Container,
  podDir: string,
  serviceAccountDir: string,
): { mounts: BindMount[]; skipped: string[] } {
  const mounts: BindMount[] = [];
  const skipped: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    if (volume?.emptyDir) {
      mounts.push({
        source: join(podDir, "volumes", mount.name, mount.subPath ?? ""),
        target: mount.mountPath,
      });
    } else if (mount.mountPath === SERVICE_ACCOUNT_PATH) {
      mounts.push({ source: serviceAccountDir, target: mount.mountPath });
    } else {
      skipped.push(`${mount.name} at ${mount.mountPath}`);
    }
  }
  const depth = (path: string) => path.split("/").filter(Boolean).length;
  mounts.sort((a, b) => depth(a.target) - depth(b.target));
  return { mounts, skipped };
}

/**
 * The mount script: `sh -c SCRIPT mount-volumes <keep> <source> <target>... -- <argv>`.
 * A volume mounted over a parent of `keep` (the pod's own folder: HOME, TMPDIR, its
 * other volumes) would hide it, so `keep` is first bound into the volume at its own
 * path and the volume is bound recursively: the pod still sees its folder, and
 * everything else under the target is hidden, as in a real container.
 */
const MOUNT_SCRIPT = `set -eu
keep=$1; shift
while [ "$1" != -- ]; do
  source=$1; target=$2; shift 2
  mkdir -p "$source" "$target"
  case "$keep" in
    "$target"/*)
      inner="$source\${keep#"$target"}"
      mkdir -p "$inner"
      mount --bind "$keep" "$inner"
      mount --rbind "$source" "$target" ;;
    *) mount --bind "$source" "$target" ;;
  esac
done
shift
exec "$@"`;

/**
 * `argv` wrapped to run in a private mount namespace with `mounts` in place.
 * `unshare` and `sh` exec in turn, so the pid (and its process group) is the command's.
 */
export function inMountNamespace(argv: string[], mounts: BindMount[], keep: string): string[] {
  if (mounts.length === 0) return argv;
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    MOUNT_SCRIPT,
    "mount-volumes",
    keep,
    ...mounts.flatMap((m) => [m.source, m.target]),
    "--",
    ...argv,
  ];
}
