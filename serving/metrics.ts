import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics of one server instance, on its own registry (so tests
 * can run several servers in one process). Endpoint labels are route
 * templates, never raw URLs, to keep label cardinality bounded.
 */
export interface ServingMetrics {
  registry: Registry;
  requests: Counter<"endpoint" | "method" | "status">;
  duration: Histogram<"endpoint" | "method" | "status">;
  rows: Counter<"model" | "version">;
  modelInfo: Gauge<"model" | "version">;
  loadSeconds: Gauge<"model">;
  loads: Counter<"model" | "result">;
  unseen: Counter<"model" | "column">;
}

/** Create the server's metrics; `defaults` adds the process metrics (CPU, memory, event loop lag). */
export function createMetrics(defaults = true): ServingMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: "churn_serving_" });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "churn_serving_requests_total",
      help: "HTTP requests answered, by route template, method and status code",
      labelNames: ["endpoint", "method", "status"],
      registers,
    }),
    duration: new Histogram({
      name: "churn_serving_request_duration_seconds",
      help: "Time from request arrival to response, by route template, method and status code",
      labelNames: ["endpoint", "method", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    rows: new Counter({
      name: "churn_serving_rows_scored_total",
      help: "Rows scored, by model and version",
      labelNames: ["model", "version"],
      registers,
    }),
    modelInfo: new Gauge({
      name: "churn_serving_model_info",
      help: "1 for the model version being served",
      labelNames: ["model", "version"],
      registers,
    }),
    loadSeconds: new Gauge({
      name: "churn_serving_model_load_seconds",
      help: "How long the last successful model load took",
      labelNames: ["model"],
      registers,
    }),
    unseen: new Counter({
      name: "churn_serving_unseen_category_rows_total",
      help: "Rows scored whose value of a category column training never saw (scored like a rare category), by column",
      labelNames: ["model", "column"],
      registers,
    }),
    loads: new Counter({
      name: "churn_serving_model_loads_total",
      help: "Model loads attempted, by result (ok or error)",
      labelNames: ["model", "result"],
      registers,
    }),
  };
}
