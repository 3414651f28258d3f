import { ChurnError, type ChurnErrorOptions, UsageError } from "../components/common/errors.js";

/**
 * Serving additions to the product's one error hierarchy, and the single
 * function that turns anything thrown while handling a request into a
 * ChurnError with an HTTP status. Each protocol then maps a ChurnError to its
 * wire shape in exactly one place (protocols/v2.ts, protocols/seldon.ts).
 */

/** The request body is larger than the server accepts. */
export class PayloadTooLargeError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 413;
}

/** The path exists but not for this method (the answer carries `Allow`). */
export class MethodNotAllowedError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 405;
}

/** The request's Content-Type is not one the server reads. */
export class UnsupportedMediaTypeError extends ChurnError {
  override readonly exitCode = 2;
  override readonly httpStatus = 415;
}

/** The request did not arrive completely in time. */
export class RequestTimeoutError extends ChurnError {
  override readonly exitCode = 1;
  override readonly httpStatus = 408;
}

/** An unexpected failure inside the server: reported without internals. */
export class InternalError extends ChurnError {
  override readonly exitCode = 1;
  override readonly httpStatus = 500;
  constructor(options: ChurnErrorOptions = {}) {
    super("internal error while handling the request (logged on the server)", options);
  }
}

interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/**
 * Any thrown value as a ChurnError. Framework errors carrying a 4xx status
 * (malformed JSON, body too large, bad media type) keep their 4xx; anything
 * else unknown is an InternalError, whose message hides the details.
 */
export function toChurnError(error: unknown): ChurnError {
  if (error instanceof ChurnError) return error;
  const e = (error ?? {}) as FrameworkError;
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE" || status === 413) {
    return new PayloadTooLargeError("the request body is larger than the server's limit", { cause: error });
  }
  if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || status === 415) {
    return new UnsupportedMediaTypeError(
      "unsupported Content-Type: send application/json (the binary tensor extension is not supported)",
      { cause: error },
    );
  }
  if (e.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return new UsageError("the request body is empty: send a JSON document", { cause: error });
  }
  if (e.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return new UsageError("malformed JSON in the request body", { cause: error });
  }
  if (error instanceof SyntaxError) {
    return new UsageError(`malformed JSON in the request body: ${e.message ?? "parse error"}`, {
      cause: error,
    });
  }
  if (status === 408) return new RequestTimeoutError("the request took too long to arrive", { cause: error });
  if (status !== undefined && status >= 400 && status < 500) {
    return new UsageError(e.message ?? "bad request", { cause: error });
  }
  return new InternalError({ cause: error });
}
