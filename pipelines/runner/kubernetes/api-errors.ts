import { messageOf } from "../../../components/common/errors.js";

/** True when an error from the Kubernetes client carries this HTTP status (404, 409, ...). */
export function isStatus(error: unknown, code: number): boolean {
  return statusOf(error) === code;
}

/** The HTTP status of a Kubernetes client error, or undefined for other errors (network, ...). */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "number" ? error.code : undefined;
}

/** The apiserver's own sentence from an API error (its Status message), not the client's dump of headers. */
export function apiMessage(error: unknown): string {
  const body = typeof error === "object" && error !== null && "body" in error ? error.body : undefined;
  if (typeof body === "string") {
    try {
      const status: unknown = JSON.parse(body);
      if (typeof status === "object" && status !== null && "message" in status) {
        if (typeof status.message === "string" && status.message) return status.message;
      }
    } catch {
      // not a Status document
    }
  }
  return messageOf(error);
}
