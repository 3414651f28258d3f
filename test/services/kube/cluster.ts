/**
 * Starts the test control plane by hand and keeps it up until Ctrl-C:
 *   node --import tsx test/services/kube/cluster.ts
 * then `KUBECONFIG=<printed path> kubectl ...` (if you have kubectl) or any client.
 */
import { startCluster } from "../../support/kube.js";

const started = Date.now();
const cluster = await startCluster();
process.stdout.write(
  `control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
    `  server:     ${cluster.server}\n` +
    `  kubeconfig: ${cluster.kubeconfigPath}\n` +
    `  state:      ${cluster.dir}\n` +
    "Ctrl-C stops it.\n",
);
const stop = () => {
  cluster.stop().finally(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
