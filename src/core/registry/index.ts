/** berth's OCI distribution-spec v1.1 registry client. */
export * from "./client.ts";
export * from "./repository.ts";
export * from "./credentials.ts";
export * from "./errors.ts";
export * from "./auth.ts";
export * from "./headers.ts";
export { DEFAULT_RETRY, RETRY_STATUSES, backoffDelay, type RetryOptions } from "./transport.ts";
