/** The HTTP API and web UI server of clipdb (Fastify). */
export {
  buildServer,
  defaultWebRoot,
  DEFAULT_UPLOAD_LIMIT,
  DEFAULT_MAX_UPLOADS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  type LogLevel,
  type ServerOptions,
} from "./app.js";
export { serve, type ServeHandle, type ServeOptions } from "./serve.js";
export { STATUS_BY_CODE, toHttpError, type ErrorBody } from "./errors.js";
export { isLoopback } from "./auth.js";
