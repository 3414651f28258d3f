import {
  CONFIG_OBJECT,
  lifetimeOutputPrefix,
  TRANSACTIONS_PREFIX,
} from "../../components/common/layout/index.js";
import type { PipelineDefinition } from "../dag.js";

const CONFIG = { object: CONFIG_OBJECT } as const;

/** The non-contractual run (DESIGN "Non-contractual customers"): a purchase log in, customers and alerts out. */
export const lifetimePipeline: PipelineDefinition = {
  name: "lifetime",
  description:
    "segment and score the customers of transactions/<stem>.csv (RFM, BG/NBD P(alive)) into output/lifetime/<stem>/",
  trigger: { kind: "object", prefix: TRANSACTIONS_PREFIX },
  output: lifetimeOutputPrefix,
  steps: [
    {
      name: "ingest-transactions",
      component: "ingest-transactions",
      description: "validate the purchase log (bad rows to rejected.csv) and summarise it per customer",
      inputs: { data: { trigger: true }, config: CONFIG },
      resources: { cpu: "1", memory: "2Gi" },
    },
    {
      name: "rfm",
      component: "rfm",
      description: "R/F/M scores, named segments, k-means clusters with profiles",
      inputs: { customers: { step: "ingest-transactions", output: "customers" } },
      resources: { cpu: "1", memory: "1Gi" },
    },
    {
      name: "fit-lifetime",
      component: "fit-lifetime",
      description: "BG/NBD maximum-likelihood fit; versioned model under models/lifetime/",
      inputs: { customers: { step: "ingest-transactions", output: "customers" }, config: CONFIG },
      resources: { cpu: "1", memory: "1Gi" },
    },
    {
      name: "score-lifetime",
      component: "score-lifetime",
      description: "customers.csv (P(alive), expected purchases, segment, cluster) and alerts.csv",
      inputs: {
        customers: { step: "ingest-transactions", output: "customers" },
        rfm: { step: "rfm", output: "rfm" },
        model: { step: "fit-lifetime", output: "model" },
        ingest: { step: "ingest-transactions", output: "profile" },
        config: CONFIG,
      },
      resources: { cpu: "1", memory: "1Gi" },
    },
    {
      name: "publish",
      component: "publish",
      description:
        "copy customers, alerts, rejected rows and summary to output/lifetime/<stem>/, then _SUCCESS",
      inputs: {
        customers: { step: "score-lifetime", output: "customers" },
        alerts: { step: "score-lifetime", output: "alerts" },
        rejected: { step: "ingest-transactions", output: "rejected" },
        summary: { step: "score-lifetime", output: "summary" },
      },
      cache: false,
    },
  ],
};
