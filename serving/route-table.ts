/**
 * Every route the server answers, by path template and method: filled from
 * Fastify's onRoute hook, so a route registered anywhere (a new plugin
 * included) is listed without another step. The 405 rule (a known path asked
 * with a method it does not serve) and the OpenAPI test read it.
 */
export class RouteTable {
  private readonly byPath = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  /** Record a route (`:name` segments match any one path segment). */
  add(method: string, url: string): void {
    let entry = this.byPath.get(url);
    if (!entry) {
      const pattern = new RegExp(
        `^${url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+")}$`,
      );
      entry = { pattern, methods: new Set() };
      this.byPath.set(url, entry);
    }
    entry.methods.add(method);
  }

  /** Every route as "METHOD /template" (HEAD left out: Fastify adds it beside each GET). */
  list(): string[] {
    return [...this.byPath].flatMap(([url, e]) =>
      [...e.methods].filter((m) => m !== "HEAD").map((m) => `${m} ${url}`),
    );
  }

  /** The methods served at a concrete path (empty for a path no route has), sorted. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const e of this.byPath.values()) if (e.pattern.test(path)) for (const m of e.methods) methods.add(m);
    return [...methods].sort();
  }
}
