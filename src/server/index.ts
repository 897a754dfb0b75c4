/** The HTTP API and web UI server of clipdb (Fastify). */
export { buildServer, defaultWebRoot, DEFAULT_UPLOAD_LIMIT, type ServerOptions } from "./app.js";
export { serve, type ServeHandle, type ServeOptions } from "./serve.js";
export { STATUS_BY_CODE, toHttpError, type ErrorBody } from "./errors.js";
export { isLoopback } from "./auth.js";
